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
        for item in try RTCPGenericNACKView(view).items {
            expand(packetID: item.packetID, bitmask: item.bitmask, body)
        }
    }

    /// RFC 4585 requires at least one FCI item; an empty NACK is rejected.
    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        self.init(try RTCPGenericNACKView(view))
    }

    public init(_ nack: RTCPGenericNACKView) {
        senderSSRC = nack.senderSSRC
        mediaSSRC = nack.mediaSSRC
        items = Array(nack.items)
    }

    /// Items one packet can carry (its 16-bit length field).
    public static let maxItems = 0xFFFD

    public func write(to out: inout [UInt8]) {
        out.appendRTCP(length: 12 + 4 * min(items.count, Self.maxItems)) { write(into: &$0) }
    }

    @discardableResult
    public func write(into writer: inout RTCPBufferWriter) -> Bool {
        Self.write(senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, items: items, into: &writer)
    }

    /// Writes a NACK from its parts, so a sender needs no array of items (`CollectionOfOne` for
    /// one). Returns false (writing nothing) when it does not fit.
    @inlinable
    @discardableResult
    public static func write(senderSSRC: UInt32, mediaSSRC: UInt32, items: some Collection<Item>,
                             into writer: inout RTCPBufferWriter) -> Bool {
        let list = items.prefix(maxItems)
        guard let body = writer.beginPacket(count: format, packetType: RTCPPacketType.transportFeedback,
                                            length: 12 + 4 * list.count) else { return false }
        body.put32(senderSSRC, at: 0)
        body.put32(mediaSSRC, at: 4)
        var offset = 8
        for item in list {
            body.put16(item.packetID, at: offset)
            body.put16(item.bitmask, at: offset + 2)
            offset += 4
        }
        return true
    }
}
