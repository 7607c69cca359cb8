import Foundation
import Media
import SFU

/// Records RTP tracks into one file: the built-in recording egress.
///
/// The server calls `receiveRTP` with each plain (SRTP-removed) packet of the recorded tracks,
/// from the thread that owns the recording (the egress writer thread, never a media worker), and
/// `finish()` when the egress stops. Inside, per track: reorder buffer -> depacketizer -> frame
/// queue -> libavformat muxer. Tracks are stream-copied where the container takes their codec;
/// otherwise (VP8 in MP4, Opus in MP3, or another audio codec asked for) a `TrackTranscoder`
/// sits between the frame queue and the muxer (see `TrackOutput`). Everything happens on the
/// caller's thread; libavformat buffers and flushes about once per fragment, never per RTP packet.
///
/// The header is written once every video track has produced a keyframe (the container needs its
/// size and codec configuration); frames that arrive earlier wait, bounded. A stream left out of
/// the header can never be added later, so a video track whose packets arrive keeps the header
/// waiting for its keyframe (asking for one again and again) up to `maxKeyframeWaitNanoseconds`;
/// only a video track that sends nothing at all is left out after `maxHeaderWaitNanoseconds`.
///
/// Failures (disk full, I/O errors) never trap: the recorder stops writing, reports through
/// `onFailure` once, and `finish()` throws the error. Not thread-safe; confine to one thread.
public final class FileRecorder {
    public let path: String
    public let container: RecordingContainer
    public let tracks: [TrackRecorder]

    /// Asks the publisher of a track for a keyframe (send a PLI); called at most every
    /// `keyframeRequestIntervalNanoseconds` per track while the track waits for one.
    public var onKeyframeNeeded: ((_ track: Int) -> Void)?
    /// Called once when the recording fails; packets are ignored from then on.
    public var onFailure: ((RecordingError) -> Void)?
    /// Called once the header is written: how long it waited after the first frame (on the
    /// packets' arrival clock), and which tracks are in the file. For the server's log: a
    /// recording without its video should say so when it is decided, not when someone plays it.
    public var onHeaderWritten: ((_ waitedNanoseconds: UInt64, _ tracksInFile: [Int]) -> Void)?
    public private(set) var failure: RecordingError?

    public var keyframeRequestIntervalNanoseconds: UInt64 = 500_000_000
    /// How long the header waits for a video track that has sent no packet at all (a camera muted
    /// when the recording started): then it is left out and the other tracks are written.
    public var maxHeaderWaitNanoseconds: UInt64 = 5_000_000_000
    /// How long the header waits for a video track whose packets arrive but whose first keyframe
    /// has not. Long: a publisher on a busy machine can take seconds to answer the keyframe
    /// request while audio flows from the first packet, and giving up loses the video for the
    /// whole recording. Within what the audio queue holds (`TrackRecorder.maxQueuedAudioFrames`),
    /// so waiting loses no audio.
    public var maxKeyframeWaitNanoseconds: UInt64 = 60_000_000_000

    private let muxer: MediaMuxer
    private let wallClock: @Sendable () -> Int64
    private var startedAt: Int64?
    private var firstFrameArrival: UInt64?
    private var lastArrival: UInt64 = 0
    /// Shared-clock time (ns) that becomes presentation time 0; fixed with the header.
    private var epoch: Int64 = 0
    /// Sender NTP time minus arrival time, when tracks are aligned by sender reports.
    private var senderToArrival: Int64?
    private var finished = false

    /// Opens `path` for writing and checks the tracks fit the container.
    ///
    /// - Parameters:
    ///   - path: the output file. Missing directories are created. When `container` is nil it is
    ///     taken from the extension, or chosen from the codecs as LiveKit's track egress does
    ///     (VP8 -> .webm, H.264 -> .mp4, Opus -> .ogg) and the extension appended.
    ///   - tracks: in the order `receiveRTP`'s `track` index refers to.
    ///   - audioCodec: the audio codec asked for (nil: keep Opus where the container takes it);
    ///     see `RecordingContainer.output(for:audioCodec:)`.
    public init(path: String, container: RecordingContainer? = nil, tracks: [RecordingTrack],
                audioCodec: AudioEncoderSettings.Codec? = nil,
                wallClock: @escaping @Sendable () -> Int64 = { FileRecorder.unixNanoseconds() }) throws(RecordingError) {
        guard !tracks.isEmpty else { throw .noTracks }
        var path = path
        let chosen: RecordingContainer
        if let container {
            chosen = container
        } else if let fromExtension = RecordingContainer(path: path) {
            chosen = fromExtension
        } else {
            chosen = RecordingContainer.preferred(for: tracks.map(\.codec))
            path += "." + chosen.fileExtension
        }
        var outputs: [TrackOutput] = []
        for track in tracks {
            guard let output = chosen.output(for: track.codec, audioCodec: audioCodec) else {
                throw .codecNotAllowedInContainer(codec: track.codec, container: chosen)
            }
            outputs.append(output)
        }
        try Self.prepareDirectory(of: path)
        self.path = path
        self.container = chosen
        self.tracks = tracks.enumerated().map { TrackRecorder(index: $0.offset, track: $0.element) }
        for (recorder, output) in zip(self.tracks, outputs) { recorder.output = output }
        self.wallClock = wallClock
        muxer = try MediaMuxer(path: path, container: chosen)
    }

    public static func unixNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    // MARK: Input

    /// One RTP packet (plain, header included) of track `track`. Never throws or traps: malformed
    /// packets and packets of another payload type are counted and ignored.
    public func receiveRTP(_ packet: UnsafeRawBufferPointer, track: Int, arrivalNanoseconds: UInt64) {
        guard failure == nil, !finished, tracks.indices.contains(track) else { return }
        let recorder = tracks[track]
        guard let rtp = try? RTPPacket(packet), rtp.payloadType == recorder.track.payloadType else {
            recorder.packetsIgnored += 1
            return
        }
        recorder.packetsReceived += 1
        if startedAt == nil { startedAt = wallClock() }
        lastArrival = max(lastArrival, arrivalNanoseconds)
        recorder.timeline.notePacket(timestamp: rtp.timestamp, arrivalNanoseconds: arrivalNanoseconds)
        if recorder.reorderBuffer.insert(packet, arrivalNanoseconds: arrivalNanoseconds) == .tooLarge {
            recorder.packetsIgnored += 1
        }
        process(recorder, now: arrivalNanoseconds, final: false)
    }

    /// Sender report of a track: lets the recorder align tracks by the publisher's clock.
    public func receiveSenderReport(track: Int, ntp: UInt64, rtpTimestamp: UInt32) {
        guard tracks.indices.contains(track) else { return }
        tracks[track].receiveSenderReport(ntp: ntp, rtpTimestamp: rtpTimestamp)
    }

    /// Gives up on late packets and moves frames along when no packet arrives (call from a timer,
    /// e.g. every 100 ms, so a stalled track does not hold the last frames back).
    /// Copying costs little, so a backlog changes nothing here.
    public func tick(now: UInt64, backlog: UInt64) {
        guard failure == nil, !finished else { return }
        for recorder in tracks { process(recorder, now: now, final: false) }
    }

    // MARK: Finish

    /// Writes what is buffered, the container trailer, and closes the file.
    public func finish() throws(RecordingError) -> RecordingResult {
        guard !finished else { throw .alreadyFinished }
        if failure == nil {
            for recorder in tracks { process(recorder, now: UInt64.max, final: true) }
            if failure == nil, !muxer.headerWritten, tracks.contains(where: { $0.queuedCount > 0 }) {
                startWriting(now: UInt64.max)
            }
            if failure == nil {
                for recorder in tracks { writeReady(recorder, final: true) }
            }
            if failure == nil { flushTranscoders() }
        }
        finished = true
        if let failure {
            try? muxer.finish()
            throw failure
        }
        do throws(RecordingError) {
            try muxer.finish()
        } catch {
            fail(error)
            throw error
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        let duration = tracks.compactMap { recorder -> Int64? in
            recorder.lastPTS.map { recorder.timeline.nanoseconds(ticks: $0 + recorder.lastDuration) }
        }.max() ?? 0
        let ended = wallClock()
        return RecordingResult(filename: path, sizeBytes: size, durationNanoseconds: duration,
                               startedAtNanoseconds: startedAt ?? ended, endedAtNanoseconds: ended,
                               framesWritten: tracks.map(\.framesWritten))
    }

    // MARK: Private

    private func process(_ recorder: TrackRecorder, now: UInt64, final: Bool) {
        if final {
            recorder.reorderBuffer.flush { depacketize($0, lostBefore: $1, into: recorder, now: now) }
        } else {
            recorder.reorderBuffer.drain(now: now) { depacketize($0, lostBefore: $1, into: recorder, now: now) }
        }
        if recorder.isVideo, recorder.depacketizer.needsKeyframe, now != UInt64.max {
            if recorder.lastKeyframeRequest.map({ now &- $0 >= keyframeRequestIntervalNanoseconds }) ?? true {
                recorder.lastKeyframeRequest = now
                onKeyframeNeeded?(recorder.index)
            }
        }
        guard failure == nil else { return }
        if muxer.headerWritten {
            writeReady(recorder, final: final)
        } else if readyToStart() {
            startWriting(now: now)
            for other in tracks { writeReady(other, final: final) }
        }
    }

    private func depacketize(_ bytes: UnsafeRawBufferPointer, lostBefore: Int, into recorder: TrackRecorder, now: UInt64) {
        guard let rtp = try? RTPPacket(bytes) else { return }
        recorder.depacketizer.push(rtp, lostBefore: lostBefore) { frame in
            // On the packets' arrival clock, as the header wait is measured (see `readyToStart`).
            if firstFrameArrival == nil { firstFrameArrival = lastArrival }
            recorder.enqueue(frame)
        }
    }

    /// Some track has frames, and every video track has a keyframe waiting or has had its wait:
    /// `maxKeyframeWaitNanoseconds` if its packets arrive, `maxHeaderWaitNanoseconds` if none has.
    /// Measured on the packets' arrival clock, not the writer's: a writer thread running behind
    /// on a busy machine must not count its own delay as time the publisher had.
    private func readyToStart() -> Bool {
        guard let firstFrameArrival else { return false }
        let waited = lastArrival > firstFrameArrival ? lastArrival - firstFrameArrival : 0
        for video in tracks where video.isVideo && video.queuedCount == 0 {
            let limit = video.packetsReceived > 0 ? maxKeyframeWaitNanoseconds : maxHeaderWaitNanoseconds
            if waited < limit { return false }
        }
        return true
    }

    /// Declares the streams that have frames (video needs its first keyframe for size and codec
    /// configuration), fixes the shared clock, and writes the header.
    private func startWriting(now: UInt64) {
        do throws(RecordingError) {
            for recorder in tracks {
                guard let parameters = streamParameters(for: recorder) else {
                    recorder.discardQueue()
                    continue
                }
                if recorder.output.isTranscoded {
                    let transcoder = try TrackTranscoder(track: recorder.track, output: recorder.output,
                                                         width: parameters.width, height: parameters.height,
                                                         globalHeader: container.needsGlobalHeader)
                    recorder.transcoder = transcoder
                    recorder.streamIndex = try transcoder.addStream(to: muxer)
                } else {
                    recorder.streamIndex = try muxer.addStream(parameters)
                }
            }
            let starting = tracks.filter { $0.streamIndex != nil && $0.queuedCount > 0 }
            // Sender reports align tracks only when every track that starts now has one.
            if let reference = starting.first, starting.allSatisfy({ $0.timeline.senderReport != nil }),
               let first = reference.firstQueued, let sender = reference.timeline.senderNanoseconds(of: first.timestamp) {
                senderToArrival = reference.timeline.arrivalNanoseconds(of: first.timestamp) - sender
            }
            for recorder in starting { decideClock(recorder) }
            epoch = starting.compactMap { recorder in recorder.firstQueued.map { sharedTime(recorder, $0.timestamp) } }.min() ?? 0
            try muxer.writeHeader()
            let waited = firstFrameArrival.map { lastArrival > $0 ? lastArrival - $0 : 0 } ?? 0
            onHeaderWritten?(waited, tracks.filter { $0.streamIndex != nil }.map(\.index))
        } catch {
            fail(error)
        }
    }

    private func streamParameters(for recorder: TrackRecorder) -> MuxerStreamParameters? {
        let track = recorder.track
        var parameters = MuxerStreamParameters(codec: track.codec, clockRate: track.clockRate, channels: track.channels)
        switch track.codec {
        case .opus:
            parameters.extradata = CodecConfiguration.opusHead(channels: track.channels)
        case .vp8:
            guard let keyframe = recorder.firstQueued,
                  let size = keyframe.bytes.withUnsafeBytes({ VP8Depacketizer.keyframeDimensions($0) }) else { return nil }
            (parameters.width, parameters.height) = size
        case .h264:
            guard recorder.firstQueued != nil, let h264 = recorder.depacketizer as? H264Depacketizer,
                  let sps = h264.sequenceParameterSet, let pps = h264.pictureParameterSet,
                  let record = CodecConfiguration.avcDecoderConfiguration(sps: sps, pps: pps) else { return nil }
            parameters.extradata = record
            if let parsed = H264SequenceParameterSet(sps) {
                (parameters.width, parameters.height) = (parsed.width, parsed.height)
            }
        }
        return parameters
    }

    private func decideClock(_ recorder: TrackRecorder) {
        recorder.usesSenderClock = senderToArrival != nil && recorder.timeline.senderReport != nil
    }

    /// A frame's time on the recording's shared clock, in nanoseconds.
    private func sharedTime(_ recorder: TrackRecorder, _ timestamp: Int64) -> Int64 {
        if recorder.usesSenderClock, let offset = senderToArrival,
           let sender = recorder.timeline.senderNanoseconds(of: timestamp) {
            return sender + offset
        }
        return recorder.timeline.arrivalNanoseconds(of: timestamp)
    }

    private func writeReady(_ recorder: TrackRecorder, final: Bool) {
        guard failure == nil, muxer.headerWritten else { return }
        guard let stream = recorder.streamIndex else {
            recorder.discardQueue()
            return
        }
        do throws(RecordingError) {
            if recorder.lastPTS == nil { decideClock(recorder) }
            try recorder.takeReadyFrames(final: final) { (frame, duration) throws(RecordingError) in
                var pts = recorder.timeline.ticks(nanoseconds: max(0, sharedTime(recorder, frame.timestamp) - epoch))
                // Timestamps must increase within a stream, whatever the sender did.
                if let last = recorder.lastPTS, pts <= last { pts = last + 1 }
                if let transcoder = recorder.transcoder {
                    try transcoder.transcode(frame.bytes, pts: pts, duration: duration) { (packet) throws(RecordingError) in
                        try muxer.write(stream: stream, packet: packet)
                    }
                } else {
                    try write(frame.bytes, stream: stream, pts: pts, duration: duration, keyframe: frame.isKeyframe)
                }
                recorder.lastPTS = pts
                recorder.framesWritten += 1
            }
        } catch {
            fail(error)
        }
    }

    /// What transcoders still hold: the held video picture's last ticks, the audio encoder's last
    /// partial frame and padding.
    private func flushTranscoders() {
        do throws(RecordingError) {
            for recorder in tracks {
                guard let transcoder = recorder.transcoder, let stream = recorder.streamIndex else { continue }
                try transcoder.finish { (packet) throws(RecordingError) in try muxer.write(stream: stream, packet: packet) }
            }
        } catch {
            fail(error)
        }
    }

    private func write(_ bytes: [UInt8], stream: Int, pts: Int64, duration: Int64, keyframe: Bool) throws(RecordingError) {
        // Not a throwing closure inside withUnsafeBytes: Swift 6.3.1 crashes on typed throws there.
        let error: RecordingError? = bytes.withUnsafeBytes { data in
            do {
                try muxer.write(stream: stream, data: data, pts: pts, duration: duration, keyframe: keyframe)
                return nil
            } catch {
                return (error as? RecordingError) ?? .writeFailed(path: path, reason: String(describing: error))
            }
        }
        if let error { throw error }
    }

    private func fail(_ error: RecordingError) {
        guard failure == nil else { return }
        failure = error
        for recorder in tracks { recorder.discardQueue() }
        onFailure?(error)
    }

    /// Creates missing directories. Whether the file itself can be created is left to the open
    /// (permissions differ for root, and a world-writable file may sit in a read-only directory).
    private static func prepareDirectory(of path: String) throws(RecordingError) {
        let directory = (path as NSString).deletingLastPathComponent
        guard !directory.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .unwritableDirectory(path: directory, reason: String(describing: error))
        }
    }
}
