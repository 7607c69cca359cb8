import Media

/// One track's path into a recording: reorder buffer -> depacketizer -> frames waiting to be
/// written. Owned by its `FileRecorder`, which decides when frames reach the muxer.
///
/// Frames wait here for two reasons: before the file header is written (it needs every video
/// track's first keyframe for sizes and codec configuration), and, for video, until the next frame
/// arrives, because a video frame's duration is the gap to its successor. Frame buffers are
/// recycled, so steady state does not allocate.
public final class TrackRecorder {
    public let index: Int
    public let track: RecordingTrack
    public let reorderBuffer: RTPReorderBuffer
    public let depacketizer: any Depacketizer

    /// Packets refused before reordering (not RTP, or another payload type such as RTX).
    public internal(set) var packetsIgnored = 0
    /// Packets of this track's payload type: a video track with some keeps the header waiting
    /// for its keyframe longer than one that sends nothing.
    public internal(set) var packetsReceived = 0
    public internal(set) var framesWritten = 0
    /// Frames dropped because too many waited for the header.
    public internal(set) var framesOverflowed = 0

    var timeline: TrackTimeline
    /// How the track goes into the file (decided with the container, before anything is opened).
    public internal(set) var output: TrackOutput = .copy
    /// The decode/encode stage when `output` is not `.copy`; made with the header.
    var transcoder: TrackTranscoder?
    /// The muxer stream, once the header is written; nil if the track is not in the file.
    var streamIndex: Int?
    /// Whether this track is placed on the shared clock by sender reports (decided at first write).
    var usesSenderClock = false
    /// Last presentation timestamp written and its duration, in clock ticks.
    var lastPTS: Int64?
    var lastDuration: Int64 = 0
    var lastKeyframeRequest: UInt64?

    /// A frame copied out of the depacketizer.
    struct HeldFrame {
        var bytes: [UInt8]
        var timestamp: Int64
        var isKeyframe: Bool
    }

    private(set) var queue: [HeldFrame] = []
    private var spareBuffers: [[UInt8]] = []
    static let maxQueuedVideoFrames = 600
    /// Audio waits for the header as long as `FileRecorder.maxKeyframeWaitNanoseconds` lets a
    /// video track hold it: 60 s of 20 ms frames (Opus at 64 kbit/s: about 0.5 MB).
    static let maxQueuedAudioFrames = 3000

    init(index: Int, track: RecordingTrack) {
        self.index = index
        self.track = track
        timeline = TrackTimeline(clockRate: track.clockRate)
        switch track.codec {
        case .vp8:
            depacketizer = VP8Depacketizer()
            reorderBuffer = RTPReorderBuffer(capacity: 512)
        case .h264:
            depacketizer = H264Depacketizer(outputFormat: .lengthPrefixed)
            reorderBuffer = RTPReorderBuffer(capacity: 512)
        case .opus:
            depacketizer = OpusDepacketizer()
            reorderBuffer = RTPReorderBuffer(capacity: 64, maxLatencyNanoseconds: 100_000_000)
        }
    }

    public var isVideo: Bool { track.codec.isVideo }

    /// Sender report for this track (RTCP SR): the NTP time that `rtpTimestamp` corresponds to.
    public func receiveSenderReport(ntp: UInt64, rtpTimestamp: UInt32) {
        guard lastPTS == nil else { return }  // the clock is fixed once frames are written
        timeline.receiveSenderReport(ntp: ntp, rtpTimestamp: rtpTimestamp)
    }

    // MARK: Frame queue

    func enqueue(_ frame: EncodedFrame) {
        var bytes = spareBuffers.popLast() ?? []
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: frame.data)
        queue.append(HeldFrame(bytes: bytes, timestamp: timeline.unwrap(frame.rtpTimestamp), isKeyframe: frame.isKeyframe))
        if queue.count > (isVideo ? Self.maxQueuedVideoFrames : Self.maxQueuedAudioFrames) {
            dropFirst()
            // Video cannot start from a frame that references the one just dropped.
            if isVideo { while let first = queue.first, !first.isKeyframe { dropFirst() } }
        }
    }

    var firstQueued: HeldFrame? { queue.first }
    var queuedCount: Int { queue.count }

    /// Hands frames that are ready to write to `body` in order, with their duration in ticks.
    /// Video keeps its newest frame back until its successor (or `final`) gives it a duration.
    func takeReadyFrames(final: Bool, _ body: (HeldFrame, Int64) throws(RecordingError) -> Void) throws(RecordingError) {
        while let first = queue.first {
            let duration: Int64
            if isVideo {
                if queue.count >= 2 {
                    let gap = queue[1].timestamp - first.timestamp
                    // A gap beyond ten seconds is a pause, not a frame duration.
                    duration = gap > 0 && gap < timeline.clockRate * 10 ? gap : defaultDuration
                } else if final {
                    duration = lastDuration > 0 ? lastDuration : defaultDuration
                } else {
                    return
                }
            } else {
                duration = opusDuration(first.bytes)
            }
            try body(first, duration)
            lastDuration = duration
            recycleFirst()
        }
    }

    func discardQueue() {
        while !queue.isEmpty { recycleFirst() }
    }

    private var defaultDuration: Int64 { timeline.clockRate / 30 }

    private func opusDuration(_ bytes: [UInt8]) -> Int64 {
        let samples = bytes.withUnsafeBytes { payload in
            OpusTOC(payload: payload).flatMap { $0.samplesAt48kHz(in: payload) }
        }
        return Int64(samples ?? 960) * timeline.clockRate / 48000
    }

    private func dropFirst() {
        framesOverflowed += 1
        recycleFirst()
    }

    private func recycleFirst() {
        let frame = queue.removeFirst()
        if spareBuffers.count < 4 { spareBuffers.append(frame.bytes) }
    }
}
