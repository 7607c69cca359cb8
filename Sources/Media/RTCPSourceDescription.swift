/// Source description (RFC 3550 §6.5, PT 202). WebRTC only sends CNAME, but every item type is
/// kept so a packet re-serializes unchanged.
public struct RTCPSourceDescription: Sendable, Equatable {
    public enum ItemType {
        public static let cname: UInt8 = 1
        public static let name: UInt8 = 2
        public static let email: UInt8 = 3
        public static let phone: UInt8 = 4
        public static let location: UInt8 = 5
        public static let tool: UInt8 = 6
        public static let note: UInt8 = 7
        public static let priv: UInt8 = 8
    }

    public struct Item: Sendable, Equatable {
        public var type: UInt8
        /// Raw bytes: SDES text is UTF-8 but nothing guarantees it on the wire.
        public var value: [UInt8]
        public init(type: UInt8, value: [UInt8]) {
            self.type = type
            self.value = value
        }
        public var text: String { String(decoding: value, as: UTF8.self) }
    }

    public struct Chunk: Sendable, Equatable {
        public var ssrc: UInt32
        public var items: [Item]
        public init(ssrc: UInt32, items: [Item]) {
            self.ssrc = ssrc
            self.items = items
        }
        public var cname: String? { items.first { $0.type == ItemType.cname }?.text }
    }

    public var chunks: [Chunk]

    public init(chunks: [Chunk]) {
        self.chunks = chunks
    }

    /// One chunk carrying a CNAME, the only SDES WebRTC requires.
    public init(ssrc: UInt32, cname: String) {
        self.chunks = [Chunk(ssrc: ssrc, items: [Item(type: ItemType.cname, value: Array(cname.utf8.prefix(255)))])]
    }

    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        let body = view.body
        let bad = RTCPParseError.malformed(packetType: view.packetType, format: view.count)
        var chunks: [Chunk] = []
        var offset = 0
        for _ in 0..<Int(view.count) {
            guard offset + 4 <= body.count else { throw .badLength(packetType: view.packetType, format: view.count) }
            var chunk = Chunk(ssrc: body.u32(offset), items: [])
            offset += 4
            while true {
                guard offset < body.count else { throw bad }
                let type = body[offset]
                if type == 0 {
                    // The null item ends the chunk; the chunk is then padded to a 32-bit boundary.
                    offset = (offset + 4) & ~3
                    break
                }
                guard offset + 2 <= body.count else { throw bad }
                let length = Int(body[offset + 1])
                guard offset + 2 + length <= body.count else { throw bad }
                chunk.items.append(Item(type: type, value: Array(body.slice(offset + 2, length))))
                offset += 2 + length
            }
            chunks.append(chunk)
        }
        self.chunks = chunks
    }

    public func write(to out: inout [UInt8]) {
        let list = chunks.prefix(31)
        let start = RTCPWriter.beginPacket(count: UInt8(list.count), packetType: RTCPPacketType.sourceDescription, to: &out)
        for chunk in list {
            let chunkStart = out.count
            out.append32(chunk.ssrc)
            for item in chunk.items where item.type != 0 {
                out.append(item.type)
                let value = item.value.prefix(255)
                out.append(UInt8(value.count))
                out.append(contentsOf: value)
            }
            // At least one zero byte terminates the item list, then pad the chunk to 4 bytes.
            out.append(0)
            while (out.count - chunkStart) % 4 != 0 { out.append(0) }
        }
        RTCPWriter.endPacket(start: start, to: &out)
    }
}
