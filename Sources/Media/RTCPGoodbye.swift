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
        out.appendRTCP(length: Self.length(ssrcCount: ssrcs.count, reason: reason)) { write(into: &$0) }
    }

    @discardableResult
    public func write(into writer: inout RTCPBufferWriter) -> Bool {
        Self.write(ssrcs: ssrcs, reason: reason, into: &writer)
    }

    /// Bytes on the wire for a BYE of `ssrcCount` sources (at most 31 are written) and `reason`.
    @inlinable
    static func length(ssrcCount: Int, reason: [UInt8]?) -> Int {
        let reasonLength = reason.map { 1 + min($0.count, 255) } ?? 0
        return 4 + 4 * min(ssrcCount, 31) + (reasonLength + 3) / 4 * 4
    }

    /// Writes a BYE from its parts, so a sender needs no array (`CollectionOfOne` for one source).
    /// Returns false (writing nothing) when it does not fit.
    @inlinable
    @discardableResult
    public static func write(ssrcs: some Collection<UInt32>, reason: [UInt8]? = nil,
                             into writer: inout RTCPBufferWriter) -> Bool {
        let list = ssrcs.prefix(31)
        guard let body = writer.beginPacket(count: UInt8(list.count), packetType: RTCPPacketType.goodbye,
                                            length: length(ssrcCount: list.count, reason: reason)) else { return false }
        var offset = 0
        for ssrc in list {
            body.put32(ssrc, at: offset)
            offset += 4
        }
        if let reason {
            let text = reason.prefix(255)
            body[offset] = UInt8(text.count)
            for (index, byte) in text.enumerated() { body[offset + 1 + index] = byte }
        }
        return true
    }
}
