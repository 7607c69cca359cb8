import Media

/// Rebuilds whole frames from in-order RTP packets of one codec.
///
/// Fed by `RTPReorderBuffer`, so packets arrive in sequence order and `lostBefore` says how many
/// were skipped just before this one. A frame is emitted only when complete (its last packet seen,
/// no sequence gap inside it); after a loss a video depacketizer drops frames until the next
/// keyframe and raises `needsKeyframe` so the recorder can ask the publisher for one.
public protocol Depacketizer: AnyObject {
    /// Consumes one packet; calls `emit` with each frame it completes (zero or one, sometimes two
    /// when a frame without a marker bit is closed by the next timestamp).
    func push(_ packet: RTPPacket, lostBefore: Int, emit: (EncodedFrame) -> Void)
    /// True while frames are being dropped for want of a keyframe.
    var needsKeyframe: Bool { get }
    /// Drops any partial frame (end of stream or stream restart).
    func reset()
}
