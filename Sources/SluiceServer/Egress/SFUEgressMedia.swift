import MediaPlane
import Egress
import Foundation
import Logging
import SFU

/// The egress media plane over Sluice's own SFU rooms: tracks are looked up in the room's
/// `SFU.Room` (LiveKit and WHIP publishers alike) and recorded on the room's media worker.
struct SFUEgressMedia: EgressMediaPlane {
    let sessions: MediaSessions

    func publishedTracks(room: String) async -> [EgressTrackSource] {
        guard let hub = await sessions.hub(room: room) else { return [] }
        let sfuRoom = hub.room
        return (try? await hub.worker.run {
            sfuRoom.participants.flatMap { participant in
                participant.publishedTracks.map {
                    EgressTrackSource(sid: $0.id, identity: participant.identity, kind: $0.kind, codec: $0.codec,
                                      layerCount: $0.layerCount)
                }
            }
        }) ?? []
    }

    func startRecording(room: String, tracks: [EgressTrackSource], path: String, container: RecordingContainer,
                        audioCodec: AudioEncoderSettings.Codec?,
                        onActive: @escaping @Sendable () -> Void,
                        onFailure: @escaping @Sendable (RecordingError) -> Void) async throws(RecordingError)
        -> any EgressRecordingControl
    {
        guard let hub = await sessions.hub(room: room) else { throw .invalidTrack("room \(room) has no media any more") }
        let recordingTracks = try tracks.map { source throws(RecordingError) in
            try RecordingTrack(kind: source.kind, codec: source.codec)
        }
        // Opening the file is the one slow step: done here, off the media worker.
        nonisolated(unsafe) let recorder = try FileRecorder(path: path, container: container, tracks: recordingTracks,
                                                                audioCodec: audioCodec)
        let sids = tracks.map(\.sid)
        let result: Result<EgressRecording, RecordingError>
        do {
            result = try await hub.worker.run { () -> Result<EgressRecording, RecordingError> in
                do {
                    let room = hub.room
                    var inputs: [EgressRecording.Input] = []
                    for sid in sids {
                        guard let track = room.participants.lazy.compactMap({ $0.publishedTrack(id: sid) }).first else {
                            return .failure(.invalidTrack("track \(sid) is no longer published"))
                        }
                        // The top simulcast layer: the best picture the publisher sends.
                        inputs.append(EgressRecording.Input(track: track, layer: track.layerCount - 1))
                    }
                    let recording = EgressRecording(recorder: recorder, inputs: inputs, room: hub.room, worker: hub.worker,
                                                    name: "sluice-egress", onActive: onActive, onFailure: onFailure,
                                                    onLayersChanged: { hub.announceWantedLayers(of: $0) })
                    recording.start()
                    return .success(recording)
                }
            }
        } catch {
            result = .failure(.invalidTrack("the room's media worker is gone"))
        }
        switch result {
        case .success(let recording):
            return Control(recording: recording)
        case .failure(let error):
            _ = try? recorder.finish()
            try? FileManager.default.removeItem(atPath: recorder.path)
            throw error
        }
    }

    func startRoomComposite(room: String, path: String?, streamURLs: [String], segments: HLSSettings?,
                            onlyTracks: Set<String>?, options: CompositeOptions, screenShares: Set<String>,
                            onActive: @escaping @Sendable () -> Void,
                            onFailure: @escaping @Sendable (RecordingError) -> Void,
                            onStreamFailed: @escaping @Sendable (_ url: String, _ error: RecordingError) -> Void)
        async throws(RecordingError)
        -> any EgressCompositeControl
    {
        guard let hub = await sessions.hub(room: room) else { throw .invalidTrack("room \(room) has no media any more") }
        // Opening the file and the encoders is the slow step: done here, off the media worker.
        nonisolated(unsafe) let recorder = try CompositeRecorder(path: path, streamURLs: streamURLs, segments: segments,
                                                                     options: options)
        for stream in recorder.streamsFailedAtStart {
            if let failure = stream.failure { onStreamFailed(stream.url, failure) }
        }
        // Set before the writer thread starts (in RoomCompositeRecording), so no race.
        recorder.onStreamFailed = { url, error in onStreamFailed(url, error) }
        let logger = Logger(label: "sluice.egress.composite")
        do {
            let recording = try await hub.worker.run {
                let recording = RoomCompositeRecording(recorder: recorder, options: options, screenShares: screenShares,
                                                       onlyTracks: onlyTracks, hub: hub, logger: logger, onActive: onActive, onFailure: onFailure)
                recording.start()
                return recording
            }
            return CompositeControl(recording: recording)
        } catch {
            _ = try? recorder.finish()
            if let path = recorder.path { try? FileManager.default.removeItem(atPath: path) }
            throw .invalidTrack("the room's media worker is gone")
        }
    }

    private struct CompositeControl: EgressCompositeControl {
        let recording: RoomCompositeRecording

        func finish() async -> Result<RecordingResult, RecordingError> {
            let recording = self.recording
            _ = try? await recording.worker.run { recording.detach() }
            return await recording.writer.finish()
        }

        func setLayout(_ layout: CompositeLayout) async {
            recording.setLayout(layout)
        }

        func noteScreenShare(trackSid: String) async {
            let recording = self.recording
            _ = try? await recording.worker.run { recording.noteScreenShare(trackSid) }
        }

        func addStream(_ url: String) async throws(RecordingError) {
            try await recording.addStream(url)
        }

        func removeStream(_ url: String) async -> Bool {
            await recording.removeStream(url)
        }
    }

    private struct Control: EgressRecordingControl {
        let recording: EgressRecording

        func finish() async -> Result<RecordingResult, RecordingError> {
            let recording = self.recording
            // If the worker is gone, so are the taps: the writer can finish either way.
            _ = try? await recording.worker.run { recording.detach() }
            return await recording.writer.finish()
        }
    }
}
