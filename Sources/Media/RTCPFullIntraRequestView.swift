/// A FIR read in place: the sender and an iterator over its entries (the media sources asked for
/// a keyframe), with no allocation. `RTCPFullIntraRequest` is the same packet as a value.
public struct RTCPFullIntraRequestView {
    public let senderSSRC: UInt32
    public let mediaSSRC: UInt32
    /// Valid while the packet's bytes are.
    public let entries: Entries

    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        let body = view.body
        guard body.count >= 8, (body.count - 8) % 8 == 0 else { throw .badLength(packetType: view.packetType, format: view.format) }
        senderSSRC = body.u32(0)
        mediaSSRC = body.u32(4)
        entries = Entries(body.slice(8, body.count - 8))
    }

    public struct Entries: IteratorProtocol, Sequence {
        private let fci: UnsafeRawBufferPointer
        private var offset = 0

        init(_ fci: UnsafeRawBufferPointer) {
            self.fci = fci
        }

        public var count: Int { fci.count / 8 }

        public mutating func next() -> RTCPFullIntraRequest.Entry? {
            guard offset + 8 <= fci.count else { return nil }
            defer { offset += 8 }
            return RTCPFullIntraRequest.Entry(ssrc: fci.u32(offset), sequenceNumber: fci[offset + 4])
        }

        public var underestimatedCount: Int { (fci.count - offset) / 8 }
    }
}
