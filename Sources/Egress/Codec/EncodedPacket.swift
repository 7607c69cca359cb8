/// One packet an encoder produced, borrowed from the encoder's `AVPacket`: valid only inside the
/// callback that receives it. Timestamps are in the encoder's time base (`timeBase`), which is
/// what `MediaMuxer.write(stream:packet:)` expects for a stream declared from that encoder.
public struct EncodedPacket {
    public let data: UnsafeRawBufferPointer
    public let pts: Int64
    public let dts: Int64
    /// May be 0 when the encoder does not know it.
    public let duration: Int64
    public let isKeyframe: Bool

    public init(data: UnsafeRawBufferPointer, pts: Int64, dts: Int64, duration: Int64, isKeyframe: Bool) {
        self.data = data
        self.pts = pts
        self.dts = dts
        self.duration = duration
        self.isKeyframe = isKeyframe
    }
}
