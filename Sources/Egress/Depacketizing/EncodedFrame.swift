/// One whole encoded frame (a video picture or an Opus packet) rebuilt from RTP, borrowed from the
/// depacketizer's buffer: valid only inside the callback that receives it.
public struct EncodedFrame {
    /// The frame's bytes in the form the muxer stores (VP8 frame, H.264 access unit as AVCC or
    /// Annex-B, one Opus packet).
    public let data: UnsafeRawBufferPointer
    /// RTP timestamp shared by the frame's packets.
    public let rtpTimestamp: UInt32
    /// A decoder can start here (VP8 keyframe, H.264 IDR access unit; every Opus packet).
    public let isKeyframe: Bool

    public init(data: UnsafeRawBufferPointer, rtpTimestamp: UInt32, isKeyframe: Bool) {
        self.data = data
        self.rtpTimestamp = rtpTimestamp
        self.isKeyframe = isKeyframe
    }
}
