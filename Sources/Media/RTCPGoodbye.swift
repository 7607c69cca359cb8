/// BYE (RFC 3550 §6.6, PT 203): the listed sources are leaving.
public struct RTCPGoodbye: Sendable, Equatable {
    public var ssrcs: [UInt32]
    /// Optional reason, raw bytes (at most 255).
    public var reason: [UInt8]?

    public init(ssrcs: [UInt32], reason: String? = nil) {
        self.ssrcs = ssrcs
        self.reason = reason.map { Array($0.utf8.prefix(255)) }
    }

    public var reasonText: String? { reason.map { String(decoding: $0, as: UTF8.self) } }

    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        let body = view.body
        let count = Int(view.count)
        guard body.count >= count * 4 else { throw .badLength(packetType: view.packetType, format: view.count) }
        ssrcs = (0..<count).map { body.u32($0 * 4) }
        let offset = count * 4
        if offset < body.count {
            let length = Int(body[offset])
            guard offset + 1 + length <= body.count else { throw .malformed(packetType: view.packetType, format: view.count) }
            reason = Array(body.slice(offset + 1, length))
        } else {
            reason = nil
        }
    }

    public func write(to out: inout [UInt8]) {
        let list = ssrcs.prefix(31)
        let start = RTCPWriter.beginPacket(count: UInt8(list.count), packetType: RTCPPacketType.goodbye, to: &out)
        for ssrc in list { out.append32(ssrc) }
        if let reason {
            let text = reason.prefix(255)
            out.append(UInt8(text.count))
            out.append(contentsOf: text)
        }
        RTCPWriter.endPacket(start: start, to: &out)
    }
}
