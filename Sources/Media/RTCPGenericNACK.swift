/// Generic NACK (RFC 4585 §6.2.1: RTPFB, FMT 1). Each FCI item names one lost packet (PID) plus a
/// bitmask of the 16 following ones (BLP), so one 4-byte item can request up to 17 packets.
public struct RTCPGenericNACK: Sendable, Equatable {
    public static let format: UInt8 = 1

    public struct Item: Sendable, Equatable {
        public var packetID: UInt16
        /// Bit i set => packetID + i + 1 is also lost.
        public var bitmask: UInt16
        public init(packetID: UInt16, bitmask: UInt16) {
            self.packetID = packetID
            self.bitmask = bitmask
        }
    }

    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    public var items: [Item]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32, items: [Item]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.items = items
    }

    /// Packs `lost` (in sending order, wrap-around allowed) into as few items as a greedy pass
    /// gives: a sequence within 16 after the current item's PID joins its bitmask, anything else
    /// starts a new item. Duplicates of a PID are dropped.
    public init(senderSSRC: UInt32, mediaSSRC: UInt32, lostSequenceNumbers lost: some Sequence<UInt16>) {
        var items: [Item] = []
        for seq in lost {
            if var last = items.last {
                let distance = seq &- last.packetID
                if distance == 0 { continue }
                if distance <= 16 {
                    last.bitmask |= 1 << (distance - 1)
                    items[items.count - 1] = last
                    continue
                }
            }
            items.append(Item(packetID: seq, bitmask: 0))
        }
        self.init(senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, items: items)
    }

    /// Every sequence number the packet asks for, in item order.
    public var lostSequenceNumbers: [UInt16] {
        var result: [UInt16] = []
        for item in items {
            Self.expand(packetID: item.packetID, bitmask: item.bitmask) { result.append($0) }
        }
        return result
    }

    @inlinable
    static func expand(packetID: UInt16, bitmask: UInt16, _ body: (UInt16) -> Void) {
        body(packetID)
        var mask = bitmask
        var bit: UInt16 = 1
        while mask != 0 {
            if mask & 1 != 0 { body(packetID &+ bit) }
            mask >>= 1
            bit += 1
        }
    }

    /// Zero-allocation walk over the requested sequence numbers of a NACK view, for the hot path
    /// that answers NACKs from the retransmission cache.
    public static func forEachLostSequenceNumber(in view: RTCPPacketView, _ body: (UInt16) -> Void) throws(RTCPParseError) {
        let fci = view.body
        guard fci.count >= 12, (fci.count - 8) % 4 == 0 else { throw .badLength(packetType: view.packetType, format: view.format) }
        var offset = 8
        while offset < fci.count {
            expand(packetID: fci.u16(offset), bitmask: fci.u16(offset + 2), body)
            offset += 4
        }
    }

    /// RFC 4585 requires at least one FCI item; an empty NACK is rejected.
    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        let body = view.body
        guard body.count >= 12, (body.count - 8) % 4 == 0 else { throw .badLength(packetType: view.packetType, format: view.format) }
        senderSSRC = body.u32(0)
        mediaSSRC = body.u32(4)
        items = stride(from: 8, to: body.count, by: 4).map { Item(packetID: body.u16($0), bitmask: body.u16($0 + 2)) }
    }

    public func write(to out: inout [UInt8]) {
        let start = RTCPWriter.beginPacket(count: Self.format, packetType: RTCPPacketType.transportFeedback, to: &out)
        out.append32(senderSSRC)
        out.append32(mediaSSRC)
        for item in items {
            out.append16(item.packetID)
            out.append16(item.bitmask)
        }
        RTCPWriter.endPacket(start: start, to: &out)
    }
}
