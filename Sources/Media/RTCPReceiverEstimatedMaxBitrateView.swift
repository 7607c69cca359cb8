/// A REMB read in place: the estimate and an iterator over the SSRCs it covers, with no
/// allocation. `RTCPReceiverEstimatedMaxBitrate` is the same packet as a value.
public struct RTCPReceiverEstimatedMaxBitrateView {
    public let senderSSRC: UInt32
    /// Bits per second (saturated at `UInt64.max` for exponents no real estimate uses).
    public let bitrate: UInt64
    /// Valid while the packet's bytes are.
    public let ssrcs: SSRCs

    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        let body = view.body
        guard body.count >= 16 else { throw .badLength(packetType: view.packetType, format: view.format) }
        guard body.u32(8) == RTCPReceiverEstimatedMaxBitrate.identifier else {
            throw .malformed(packetType: view.packetType, format: view.format)
        }
        let count = Int(body[12])
        guard body.count >= 16 + count * 4 else { throw .badLength(packetType: view.packetType, format: view.format) }
        senderSSRC = body.u32(0)
        let exponent = UInt64(body[13] >> 2)
        let mantissa = UInt64(body.u24(13) & 0x3_FFFF)
        // Saturate instead of overflowing for absurd exponents.
        if mantissa != 0, exponent > UInt64(mantissa.leadingZeroBitCount) {
            bitrate = .max
        } else {
            bitrate = mantissa << exponent
        }
        ssrcs = SSRCs(body.slice(16, count * 4))
    }

    public struct SSRCs: IteratorProtocol, Sequence {
        private let list: UnsafeRawBufferPointer
        private var offset = 0

        init(_ list: UnsafeRawBufferPointer) {
            self.list = list
        }

        public var count: Int { list.count / 4 }

        public mutating func next() -> UInt32? {
            guard offset + 4 <= list.count else { return nil }
            defer { offset += 4 }
            return list.u32(offset)
        }

        public var underestimatedCount: Int { (list.count - offset) / 4 }
    }
}
