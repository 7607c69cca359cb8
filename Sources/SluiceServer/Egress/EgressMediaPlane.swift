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
}

/// A running recording, as the control plane holds it.
protocol EgressRecordingControl: Sendable {
    /// Stops taking packets, writes what is buffered and the trailer, and closes the file.
    func finish() async -> Result<RecordingResult, RecordingError>
}
