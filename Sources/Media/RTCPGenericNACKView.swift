/// A generic NACK read in place: the SSRCs and an iterator over its FCI items, with no allocation,
/// for the media thread that answers NACKs from its packet cache. `RTCPGenericNACK` is the same
/// packet as a value.
public struct RTCPGenericNACKView {
    public let senderSSRC: UInt32
    public let mediaSSRC: UInt32
    /// Valid while the packet's bytes are.
    public let items: Items

    /// RFC 4585 requires at least one FCI item; an empty NACK is rejected.
    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        let body = view.body
        guard body.count >= 12, (body.count - 8) % 4 == 0 else { throw .badLength(packetType: view.packetType, format: view.format) }
        senderSSRC = body.u32(0)
        mediaSSRC = body.u32(4)
        items = Items(body.slice(8, body.count - 8))
    }

    public struct Items: IteratorProtocol, Sequence {
        private let fci: UnsafeRawBufferPointer
        private var offset = 0

        init(_ fci: UnsafeRawBufferPointer) {
            self.fci = fci
        }

        public var count: Int { fci.count / 4 }

        public mutating func next() -> RTCPGenericNACK.Item? {
            guard offset + 4 <= fci.count else { return nil }
            defer { offset += 4 }
            return RTCPGenericNACK.Item(packetID: fci.u16(offset), bitmask: fci.u16(offset + 2))
        }

        public var underestimatedCount: Int { (fci.count - offset) / 4 }
    }
}
