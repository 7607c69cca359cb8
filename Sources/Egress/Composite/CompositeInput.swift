import CFFmpeg

/// One track's path into a room composite: reorder buffer -> depacketizer -> decoder.
///
/// Video frames wait here still encoded until the composite draws the output frame whose time
/// they belong to (`decode(upTo:)`): decoding in step with drawing means only the latest picture
/// is kept — copied out of the decoder, since the composite may need it again for later frames
/// (a paused camera, a layout change) — instead of a queue of decoded pictures. Audio is decoded
/// as it arrives and goes straight into the mix at its place in time.
///
/// Owned by `CompositeRecorder` and confined to its thread.
final class CompositeInput {
    let index: Int
    let track: RecordingTrack
    let participant: String
    var isScreenShare: Bool
    /// Removed from the room: takes no more packets, leaves the layout when the output gets there.
    var departed = false
    let reorderBuffer: RTPReorderBuffer
    let depacketizer: any Depacketizer
    var timeline: TrackTimeline
    var lastKeyframeRequest: UInt64?

    // MARK: Video

    private let videoDecoder: VideoDecoder?
    /// An encoded frame waiting for its time, with its time on the composite's clock (ns).
    private struct HeldFrame {
        var bytes: [UInt8]
        var time: Int64
    }
    private var held: [HeldFrame] = []
    private var spareBuffers: [[UInt8]] = []
    /// At 30 fps, ten seconds: far more than the drawing delay, so only a stalled writer fills it.
    static let maxHeldFrames = 300
    /// The latest decoded picture, and what copies pictures into it.
    private(set) var picture: VideoFrameBuffer?
    private let copier = VideoFrameScaler()
    /// Draws this track into the canvas (a scaler of its own, so its cached context fits).
    let tileScaler = VideoFrameScaler()
    /// Set when `picture` changed since the composite last drew it.
    var pictureChanged = false
    private(set) var framesDropped = 0

    // MARK: Audio

    private let audioDecoder: AudioDecoder?
    /// The first Opus frame's unwrapped RTP timestamp and where it went in the mix (samples).
    private var audioAnchor: (timestamp: Int64, position: Int64)?

    init(index: Int, track: RecordingTrack, participant: String, isScreenShare: Bool) throws(RecordingError) {
        self.index = index
        self.track = track
        self.participant = participant
        self.isScreenShare = isScreenShare
        timeline = TrackTimeline(clockRate: track.clockRate)
        switch track.codec {
        case .vp8:
            depacketizer = VP8Depacketizer()
            reorderBuffer = RTPReorderBuffer(capacity: 512)
            videoDecoder = try VideoDecoder(codec: .vp8)
            audioDecoder = nil
        case .h264:
            depacketizer = H264Depacketizer(outputFormat: .annexB)
            reorderBuffer = RTPReorderBuffer(capacity: 512)
            videoDecoder = try VideoDecoder(codec: .h264, h264Format: .annexB)
            audioDecoder = nil
        case .opus:
            depacketizer = OpusDepacketizer()
            reorderBuffer = RTPReorderBuffer(capacity: 64, maxLatencyNanoseconds: 100_000_000)
            videoDecoder = nil
            audioDecoder = try AudioDecoder(channels: track.channels)
        }
    }

    var isVideo: Bool { track.codec.isVideo }

    /// A frame's time on the composite's clock: when it happened, by its RTP timestamp, on the
    /// arrival clock the track was anchored to by its first packet.
    func time(of frame: EncodedFrame) -> Int64 {
        timeline.arrivalNanoseconds(of: timeline.unwrap(frame.rtpTimestamp))
    }

    // MARK: Video

    /// Keeps an encoded video frame until its time is drawn.
    func hold(_ frame: EncodedFrame, time: Int64) {
        var bytes = spareBuffers.popLast() ?? []
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: frame.data)
        held.append(HeldFrame(bytes: bytes, time: time))
        if held.count > Self.maxHeldFrames {
            // The writer stalled far behind: start again from what comes next (the decoder
            // shows damage until a keyframe, which the depacketizer's loss handling asks for).
            framesDropped += held.count
            while !held.isEmpty { recycle(held.removeFirst()) }
        }
    }

    /// Decodes the held frames whose time is at or before `time`; the last picture becomes
    /// `picture` (and `pictureChanged` is set).
    func decode(upTo time: Int64) throws(RecordingError) {
        guard let videoDecoder else { return }
        var failure: RecordingError?
        while let first = held.first, first.time <= time {
            held.removeFirst()
            first.bytes.withUnsafeBytes { data in
                videoDecoder.decode(data, pts: first.time) { decoded in
                    do throws(RecordingError) {
                        try keep(decoded)
                    } catch {
                        failure = error
                    }
                }
            }
            recycle(first)
            if let failure { throw failure }
        }
    }

    /// Time of the last frame held (for the end of the recording).
    var lastHeldTime: Int64? { held.last?.time }

    private func keep(_ decoded: UnsafePointer<AVFrame>) throws(RecordingError) {
        let width = Int(decoded.pointee.width), height = Int(decoded.pointee.height)
        guard width > 0, height > 0 else { return }
        if picture?.width != width || picture?.height != height {
            picture = try VideoFrameBuffer(width: width, height: height)
        }
        guard let picture else { return }
        try copier.draw(decoded, into: picture, rect: VideoRect(x: 0, y: 0, width: width, height: height), fit: .stretch)
        pictureChanged = true
    }

    private func recycle(_ frame: HeldFrame) {
        if spareBuffers.count < 4 { spareBuffers.append(frame.bytes) }
    }

    // MARK: Audio

    /// Decodes an Opus frame and hands its samples to `body` with their position in the mix
    /// (samples at 48 kHz from the composite's start). `epoch` is the composite's start on the
    /// arrival clock.
    func decodeAudio(_ frame: EncodedFrame, epoch: Int64, _ body: (PlanarAudio, Int64) -> Void) {
        guard let audioDecoder else { return }
        let timestamp = timeline.unwrap(frame.rtpTimestamp)
        let anchor: (timestamp: Int64, position: Int64)
        if let audioAnchor {
            anchor = audioAnchor
        } else {
            let start = timeline.arrivalNanoseconds(of: timestamp) - epoch
            anchor = (timestamp, start * Int64(CompositeOptions.audioSampleRate) / 1_000_000_000)
            audioAnchor = anchor
        }
        // From the anchor by RTP timestamps, so consecutive frames land back to back.
        let position = anchor.position + (timestamp - anchor.timestamp) * Int64(CompositeOptions.audioSampleRate)
            / timeline.clockRate
        audioDecoder.decode(frame.data, pts: position) { audio, pts in body(audio, pts) }
    }
}
