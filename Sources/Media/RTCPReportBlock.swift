/// A reception report block (RFC 3550 §6.4.1), carried by SR and RR. 24 bytes on the wire.
public struct RTCPReportBlock: Sendable, Equatable {
    public static let length = 24

    /// The source this block reports on.
    public var ssrc: UInt32
    /// Fraction of packets lost since the previous report, as a fixed-point x/256.
    public var fractionLost: UInt8
    /// Cumulative packets lost; 24-bit signed on the wire (duplicates can make it negative).
    public var cumulativeLost: Int32
    /// Highest sequence number received, extended with the wrap count in the high 16 bits.
    public var extendedHighestSequenceNumber: UInt32
    /// Interarrival jitter in RTP timestamp units.
    public var jitter: UInt32
    /// Middle 32 bits of the NTP timestamp of the last SR received from this source.
    public var lastSenderReport: UInt32
    /// Delay since that SR, in units of 1/65536 s. With `lastSenderReport` gives the RTT.
    public var delaySinceLastSenderReport: UInt32

    public init(
        ssrc: UInt32, fractionLost: UInt8 = 0, cumulativeLost: Int32 = 0, extendedHighestSequenceNumber: UInt32 = 0,
        jitter: UInt32 = 0, lastSenderReport: UInt32 = 0, delaySinceLastSenderReport: UInt32 = 0
    ) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequenceNumber = extendedHighestSequenceNumber
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    /// Reads a block at `offset`; the caller has checked 24 bytes are there.
    init(_ b: UnsafeRawBufferPointer, at offset: Int) {
        ssrc = b.u32(offset)
        fractionLost = b[offset + 4]
        let raw = b.u24(offset + 5)
        // Sign-extend the 24-bit two's complement value.
        cumulativeLost = Int32(bitPattern: raw << 8) >> 8
        extendedHighestSequenceNumber = b.u32(offset + 8)
        jitter = b.u32(offset + 12)
        lastSenderReport = b.u32(offset + 16)
        delaySinceLastSenderReport = b.u32(offset + 20)
    }

    @inlinable
    func write(into body: UnsafeMutableRawBufferPointer, at offset: Int) {
        body.put32(ssrc, at: offset)
        body[offset + 4] = fractionLost
        // Clamp to the 24-bit signed range instead of silently wrapping.
        let clamped = min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)
        body.put24(UInt32(bitPattern: clamped) & 0xFF_FFFF, at: offset + 5)
        body.put32(extendedHighestSequenceNumber, at: offset + 8)
        body.put32(jitter, at: offset + 12)
        body.put32(lastSenderReport, at: offset + 16)
        body.put32(delaySinceLastSenderReport, at: offset + 20)
    }
}
