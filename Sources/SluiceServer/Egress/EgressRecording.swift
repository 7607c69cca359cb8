import Egress
import Logging
import SFU
import WebRTC

/// One egress's recording: taps on the recorded tracks (on the room's media worker) feeding an
/// `EgressWriterThread`, which owns the recorder and does the depacketizing, muxing,
/// writing and 100 ms ticks away from the worker. Keyframe requests from the recorder hop back
/// to the worker; "first frame written" (ACTIVE) and failures go up through the callbacks.
///
/// The taps and attach/detach are worker-confined (hence `@unchecked Sendable`: the reference
/// crosses to the control plane, which calls `detach` only through `worker.run`).
final class EgressRecording: @unchecked Sendable {
    struct Input {
        let track: PublishedTrack
        let layer: Int
    }

    let worker: MediaWorker
    let writer: EgressWriterThread
    private let room: SFU.Room
    private let inputs: [Input]
    private var sinks: [EgressTrackSink] = []
    private var detached = false
    /// Called after attaching or detaching, so dynacast hears which layers the recording needs.
    private let onLayersChanged: (PublishedTrack) -> Void

    /// On the worker. `inputs` are in the recorder's track order; the recorder must not be used
    /// by anyone else from now on.
    init(recorder: any RTPRecorder, inputs: [Input], room: SFU.Room, worker: MediaWorker, name: String,
         onActive: @escaping @Sendable () -> Void, onFailure: @escaping @Sendable (RecordingError) -> Void,
         onLayersChanged: @escaping (PublishedTrack) -> Void) {
        worker.preconditionIsCurrent()
        self.inputs = inputs
        self.room = room
        self.worker = worker
        self.onLayersChanged = onLayersChanged
        nonisolated(unsafe) let tracks = inputs.map(\.track)
        let layers = inputs.map(\.layer)
        // The recorder asks while it waits for a keyframe, every 350 ms: just over libwebrtc's
        // minimum keyframe interval (300 ms; a request inside it is ignored), and past the SFU's
        // per-track throttle, which a subscriber's request may hold for 500 ms. Both run on the
        // writer thread.
        recorder.keyframeRequestIntervalNanoseconds = 350_000_000
        // Weak: the writer thread may ask after the recording is gone.
        nonisolated(unsafe) weak var weakSelf: EgressRecording?
        recorder.onKeyframeNeeded = { index in
            worker.execute {
                nonisolated(unsafe) let track = tracks[index]
                // The layer the sink records now (it may have fallen back from the top one).
                let layer = weakSelf?.recordedLayer(index) ?? layers[index]
                room.requestKeyframe(track, layer: layer, bypassingThrottle: true)
            }
        }
        recorder.onFailure = { error in onFailure(error) }
        if let file = recorder as? FileRecorder {
            let logger = Logger(label: "sluice.egress")
            let path = file.path, codecs = file.tracks.map { $0.track.codec.rawValue }
            file.onHeaderWritten = { waited, inFile in
                let metadata: Logger.Metadata = ["file": "\(path)", "waitedMs": "\(waited / 1_000_000)",
                                                 "tracks": "\(inFile.map { codecs[$0] })"]
                if inFile.count < codecs.count {
                    logger.warning("recording started without some of its tracks (no keyframe in time)", metadata: metadata)
                } else {
                    logger.info("recording started", metadata: metadata)
                }
            }
        }
        writer = EgressWriterThread(recorder: recorder, name: name, onActive: onActive)
        weakSelf = self
    }

    /// The layer recording `index` takes now. On the worker.
    private func recordedLayer(_ index: Int) -> Int? {
        index < sinks.count ? sinks[index].layer : nil
    }

    /// Starts the writer and attaches the taps. On the worker.
    func start() {
        worker.preconditionIsCurrent()
        writer.start()
        sinks = inputs.indices.map { EgressTrackSink(index: $0, layer: inputs[$0].layer, writer: writer) }
        let logger = Logger(label: "sluice.egress")
        for (sink, input) in zip(sinks, inputs) {
            nonisolated(unsafe) let fallbackTrack = input.track
            let room = self.room
            sink.onFallback = { from, to in
                logger.warning("recording takes a lower simulcast layer: the top one never arrived", metadata: [
                    "track": "\(fallbackTrack.id)", "wanted": "\(from)", "recorded": "\(to)"])
                // Its keyframe starts the file; the recorder keeps asking too.
                room.requestKeyframe(fallbackTrack, layer: to, bypassingThrottle: true)
            }
            nonisolated(unsafe) let tap = sink
            nonisolated(unsafe) let track = input.track
            let layer = input.layer
            room.attach(tap, to: track, layer: layer)
            onLayersChanged(input.track)
        }
    }

    /// Removes the taps: no packet reaches the writer after this. On the worker; idempotent.
    func detach() {
        worker.preconditionIsCurrent()
        guard !detached else { return }
        detached = true
        for (sink, input) in zip(sinks, inputs) {
            nonisolated(unsafe) let tap = sink
            nonisolated(unsafe) let track = input.track
            room.detach(tap, from: track)
            onLayersChanged(input.track)
        }
        sinks.removeAll()
    }
}
