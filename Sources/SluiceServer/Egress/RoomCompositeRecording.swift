import Foundation
import MediaPlane
import Egress
import Logging
import SFU
import WebRTC

/// One room composite's taps: every track the room publishes (of the kinds recorded) feeds the
/// `CompositeRecorder` on an `EgressWriterThread`, and the set follows the room — a poll on the
/// room's media worker every quarter second attaches tracks published since and detaches tracks
/// gone. Polling the room itself, rather than following signalling events, catches LiveKit and
/// WHIP publishers alike and cannot race a track's SFU setup.
///
/// Worker-confined except `setLayout` (which only queues a command on the writer); hence
/// `@unchecked Sendable`. Each track gets a new recorder index, never reused, so a packet still
/// in the writer's ring can never be taken for another track's.
final class RoomCompositeRecording: @unchecked Sendable {
    let worker: MediaWorker
    let writer: EgressWriterThread
    private let hub: RoomMediaHub
    private let options: CompositeOptions
    private let logger: Logger
    /// Touched on the writer thread only (inside `writer.perform`).
    private let recorder: CompositeRecorder

    private struct Input {
        var index: Int
        var track: PublishedTrack
        var layer: Int
        var sink: EgressTrackSink
    }
    private var inputs: [ObjectIdentifier: Input] = [:]
    private var byIndex: [Int: Input] = [:]
    private var nextIndex = 0
    private var screenShares: Set<String>
    /// The only tracks taken (participant and track composite egress); nil takes the whole room.
    private let onlyTracks: Set<String>?
    /// Unrecordable tracks already logged, by sid.
    private var skipped: Set<String> = []
    private var timer: LoopTimer?
    private var detached = false
    static let pollMilliseconds = 250

    /// On the worker. The recorder must not be used by anyone else from now on.
    init(recorder: CompositeRecorder, options: CompositeOptions, screenShares: Set<String>, onlyTracks: Set<String>? = nil,
         hub: RoomMediaHub,
         logger: Logger, onActive: @escaping @Sendable () -> Void, onFailure: @escaping @Sendable (RecordingError) -> Void) {
        hub.worker.preconditionIsCurrent()
        self.worker = hub.worker
        self.hub = hub
        self.options = options
        self.screenShares = screenShares
        self.onlyTracks = onlyTracks
        self.logger = logger
        self.recorder = recorder
        // As for a track recording: just over libwebrtc's minimum keyframe interval.
        recorder.keyframeRequestIntervalNanoseconds = 350_000_000
        recorder.onFailure = { error in onFailure(error) }
        writer = EgressWriterThread(recorder: recorder, name: "sluice-composer", onActive: onActive)
        let worker = hub.worker
        // Weak: the recorder (through the writer) is ours; a strong capture would be a cycle.
        recorder.onKeyframeNeeded = { [weak self] index in
            guard let self else { return }
            worker.execute { self.requestKeyframe(index) }
        }
    }

    /// Starts the writer, taps what the room publishes now, and starts following it. On the worker.
    func start() {
        worker.preconditionIsCurrent()
        writer.start()
        let timer = LoopTimer(worker: worker) { [weak self] in self?.poll() }
        self.timer = timer
        poll()
    }

    /// Removes every tap and stops following the room: no packet reaches the writer after this.
    /// On the worker; idempotent.
    func detach() {
        worker.preconditionIsCurrent()
        guard !detached else { return }
        detached = true
        timer?.cancel()
        timer = nil
        for input in inputs.values { untap(input) }
        inputs.removeAll()
        byIndex.removeAll()
    }

    /// From any thread: the recorder draws `layout` from its next frame.
    func setLayout(_ layout: CompositeLayout) {
        nonisolated(unsafe) let recorder = self.recorder
        writer.perform { recorder.setLayout(layout) }
    }

    /// On the worker: the track with `sid` is a screen share.
    func noteScreenShare(_ sid: String) {
        worker.preconditionIsCurrent()
        screenShares.insert(sid)
        if let input = inputs.values.first(where: { $0.track.id == sid }) {
            nonisolated(unsafe) let recorder = self.recorder
            let index = input.index
            writer.perform { recorder.markScreenShare(index) }
        }
    }

    // MARK: Streams

    /// Connects to `url` on a thread of its own (connecting blocks, up to the muxer's timeout),
    /// then hands the connected muxer to the recorder on the writer thread.
    func addStream(_ url: String) async throws(RecordingError) {
        let connected: Result<MediaMuxerBox, RecordingError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                do throws(RecordingError) {
                    continuation.resume(returning: .success(MediaMuxerBox(muxer: try MediaMuxer(streamURL: url))))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            thread.name = "sluice-rtmp-connect"
            thread.start()
        }
        let box = try connected.get()
        nonisolated(unsafe) let recorder = self.recorder
        let added: Result<Void, RecordingError> = await withCheckedContinuation { continuation in
            let queued = writer.perform {
                do throws(RecordingError) {
                    try recorder.addStream(box.muxer, url: url)
                    continuation.resume(returning: .success(()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !queued { continuation.resume(returning: .failure(.alreadyFinished)) }
        }
        try added.get()
    }

    /// Closes the stream to `url` on the writer thread; false if it was not live.
    func removeStream(_ url: String) async -> Bool {
        nonisolated(unsafe) let recorder = self.recorder
        return await withCheckedContinuation { continuation in
            let queued = writer.perform { continuation.resume(returning: recorder.removeStream(url: url)) }
            if !queued { continuation.resume(returning: false) }
        }
    }

    // MARK: Following the room

    private func poll() {
        guard !detached else { return }
        nonisolated(unsafe) var published: [(identity: String, track: PublishedTrack)] = []
        do {
            let room = hub.room
            for participant in room.participants {
                for track in participant.publishedTracks { published.append((participant.identity, track)) }
            }
        }
        var present = Set<ObjectIdentifier>()
        for (identity, track) in published where onlyTracks?.contains(track.id) ?? true {
            let key = ObjectIdentifier(track)
            present.insert(key)
            guard inputs[key] == nil else { continue }
            let wanted = track.kind == .video ? options.includesVideo : options.includesAudio
            guard wanted else { continue }
            do throws(RecordingError) {
                tap(track, identity: identity, as: try RecordingTrack(kind: track.kind, codec: track.codec))
            } catch {
                if skipped.insert(track.id).inserted {
                    logger.warning("room composite leaves out a track", metadata: [
                        "track": "\(track.id)", "codec": "\(track.codec.name)", "error": "\(error.reason)"])
                }
            }
        }
        for (key, input) in inputs where !present.contains(key) {
            inputs[key] = nil
            byIndex[input.index] = nil
            untap(input)
        }
        timer?.schedule(afterMilliseconds: Self.pollMilliseconds)
    }

    private func tap(_ track: PublishedTrack, identity: String, as recordingTrack: RecordingTrack) {
        let index = nextIndex
        nextIndex += 1
        // The top simulcast layer, as a track recording takes: the best picture sent.
        let layer = track.layerCount - 1
        let input = Input(index: index, track: track, layer: layer,
                          sink: EgressTrackSink(index: index, layer: layer, writer: writer))
        inputs[ObjectIdentifier(track)] = input
        byIndex[index] = input
        // Queued before the tap exists, so the recorder knows the track before its first packet.
        nonisolated(unsafe) let recorder = self.recorder
        let isScreenShare = screenShares.contains(track.id)
        writer.perform {
            recorder.addTrack(index, recordingTrack, participant: identity, isScreenShare: isScreenShare)
        }
        let room = hub.room
        input.sink.onFallback = { [logger] from, to in
            logger.warning("room composite takes a lower simulcast layer: the top one never arrived", metadata: [
                "track": "\(track.id)", "wanted": "\(from)", "recorded": "\(to)"])
            room.requestKeyframe(track, layer: to, bypassingThrottle: true)
        }
        hub.room.attach(input.sink, to: track, layer: layer)
        hub.announceWantedLayers(of: track)
        logger.info("room composite takes a track", metadata: [
            "track": "\(track.id)", "participant": "\(identity)", "kind": "\(track.kind.rawValue)", "index": "\(index)"])
    }

    private func untap(_ input: Input) {
        nonisolated(unsafe) let sink = input.sink
        nonisolated(unsafe) let track = input.track
        hub.room.detach(sink, from: track)
        hub.announceWantedLayers(of: input.track)
        nonisolated(unsafe) let recorder = self.recorder
        let index = input.index
        // After the detach, so no packet of the track follows its removal.
        writer.perform { recorder.removeTrack(index) }
    }

    private func requestKeyframe(_ index: Int) {
        guard let input = byIndex[index] else { return }
        // The layer its tap records now (it may have fallen back from the top one).
        hub.room.requestKeyframe(input.track, layer: input.sink.layer, bypassingThrottle: true)
    }
}

/// A connected muxer on its way to the writer thread, which alone uses it from then on.
private final class MediaMuxerBox: @unchecked Sendable {
    let muxer: MediaMuxer
    init(muxer: MediaMuxer) { self.muxer = muxer }
}
