import Egress
import SFU

/// A published track as egress sees it when choosing what to record.
struct EgressTrackSource: Sendable, Equatable {
    var sid: String
    var identity: String
    var kind: TrackKind
    var codec: TrackCodec
    /// Simulcast layers (1 without simulcast); a recording keeps the top one.
    var layerCount: Int
}

/// What the egress service needs from the media plane: which tracks a room publishes, and a
/// recording of some of them into one file. A protocol so the egress lifecycle (statuses,
/// persistence, webhooks, auto-stop) can be tested without sockets or codecs.
protocol EgressMediaPlane: Sendable {
    func publishedTracks(room: String) async -> [EgressTrackSource]
    /// Opens `path` and starts recording `tracks` (in file order), transcoding where `container`
    /// or `audioCodec` require it. `onActive` is called once the first frame is in the file,
    /// `onFailure` once if writing fails later (both off the caller).
    func startRecording(room: String, tracks: [EgressTrackSource], path: String, container: RecordingContainer,
                        audioCodec: AudioEncoderSettings.Codec?,
                        onActive: @escaping @Sendable () -> Void,
                        onFailure: @escaping @Sendable (RecordingError) -> Void) async throws(RecordingError)
        -> any EgressRecordingControl
    /// Opens `path` and starts a composite of everything `room` publishes, now and later (until
    /// `finish`), or only of the tracks in `onlyTracks` (participant and track composite egress
    /// that stream or segment). `screenShares` are the sids of screen-share tracks published so far.
    /// `onStreamFailed` for each stream output that cannot connect (at start) or drops (later)
    /// while the recording goes on.
    func startRoomComposite(room: String, path: String?, streamURLs: [String], segments: HLSSettings?,
                            onlyTracks: Set<String>?, options: CompositeOptions, screenShares: Set<String>,
                            onActive: @escaping @Sendable () -> Void,
                            onFailure: @escaping @Sendable (RecordingError) -> Void,
                            onStreamFailed: @escaping @Sendable (_ url: String, _ error: RecordingError) -> Void)
        async throws(RecordingError)
        -> any EgressCompositeControl
}

/// A running recording, as the control plane holds it.
protocol EgressRecordingControl: Sendable {
    /// Stops taking packets, writes what is buffered and the trailer, and closes the file.
    func finish() async -> Result<RecordingResult, RecordingError>
}

/// A running room composite: a recording that follows the room's tracks by itself and whose
/// layout can change while it runs.
protocol EgressCompositeControl: EgressRecordingControl {
    func setLayout(_ layout: CompositeLayout) async
    /// The track is a screen share (the speaker layouts show it large). The room's signalling
    /// knows a track's source; the media plane does not.
    func noteScreenShare(trackSid: String) async
    /// Connects to `url` and streams to it from the next keyframe (UpdateStream, or a retry).
    func addStream(_ url: String) async throws(RecordingError)
    /// Stops streaming to `url`; false if it was not being streamed.
    func removeStream(_ url: String) async -> Bool
}

extension EgressCompositeControl {
    func addStream(_ url: String) async throws(RecordingError) {
        throw .muxerSetupFailed("this composite cannot add streams")
    }

    func removeStream(_ url: String) async -> Bool { false }
}

extension EgressMediaPlane {
    /// A media plane without a compositor refuses.
    func startRoomComposite(room: String, path: String?, streamURLs: [String], segments: HLSSettings?,
                            onlyTracks: Set<String>?, options: CompositeOptions, screenShares: Set<String>,
                            onActive: @escaping @Sendable () -> Void,
                            onFailure: @escaping @Sendable (RecordingError) -> Void,
                            onStreamFailed: @escaping @Sendable (_ url: String, _ error: RecordingError) -> Void)
        async throws(RecordingError)
        -> any EgressCompositeControl
    {
        throw .invalidTrack("this media plane cannot composite")
    }
}
