/// `a=rid:<id> <send|recv> [<restrictions>]` (RFC 8851): one RTP stream id, e.g. a simulcast layer.
public struct SDPRid: Sendable, Equatable {
    public enum Direction: String, Sendable, Equatable {
        case send, recv
    }

    public var id: String
    public var direction: Direction
    /// e.g. "pt=96,97;max-width=1280;max-height=720"; kept verbatim.
    public var restrictions: String?

    public init(id: String, direction: Direction, restrictions: String? = nil) {
        self.id = id
        self.direction = direction
        self.restrictions = restrictions
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let f = SDPScan.fields(value)
        guard f.count >= 2, let direction = Direction(rawValue: String(f[1])) else {
            throw SDPScan.fail(value, "rid needs <id> send|recv")
        }
        self.init(id: String(f[0]), direction: direction, restrictions: f.count > 2 ? f[2...].joined(separator: " ") : nil)
    }

    /// Payload types from a "pt=" restriction, if any.
    public var payloadTypes: [UInt8] {
        guard let restrictions else { return [] }
        for item in restrictions.split(separator: ";") where item.hasPrefix("pt=") {
            return item.dropFirst(3).split(separator: ",").compactMap { UInt8($0) }
        }
        return []
    }

    public var sdpValue: String { "\(id) \(direction.rawValue)" + (restrictions.map { " \($0)" } ?? "") }
}

/// `a=simulcast:send <streams> [recv <streams>]` (RFC 8853).
/// Streams are `;`-separated; each is a `,`-separated list of alternatives; `~` marks paused.
public struct SDPSimulcast: Sendable, Equatable {
    public struct Stream: Sendable, Equatable {
        public var rid: String
        public var paused: Bool
        public init(rid: String, paused: Bool = false) {
            self.rid = rid
            self.paused = paused
        }
    }

    /// Each element is one simulcast stream, given as its alternatives (usually one).
    public var send: [[Stream]]
    public var recv: [[Stream]]

    public init(send: [[Stream]] = [], recv: [[Stream]] = []) {
        self.send = send
        self.recv = recv
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let f = SDPScan.fields(value)
        guard f.count == 2 || f.count == 4 else { throw SDPScan.fail(value, "simulcast needs send|recv <streams>") }
        var send: [[Stream]] = []
        var recv: [[Stream]] = []
        for pair in stride(from: 0, to: f.count, by: 2) {
            let streams = try Self.parseStreams(f[pair + 1], in: value)
            switch f[pair] {
            case "send" where send.isEmpty: send = streams
            case "recv" where recv.isEmpty: recv = streams
            default: throw SDPScan.fail(value, "expected send or recv, got \"\(f[pair])\"")
            }
        }
        self.init(send: send, recv: recv)
    }

    static func parseStreams(_ text: Substring, in value: some StringProtocol) throws(SDPParseError) -> [[Stream]] {
        var result: [[Stream]] = []
        for stream in text.split(separator: ";", omittingEmptySubsequences: false) {
            var alternatives: [Stream] = []
            for alternative in stream.split(separator: ",", omittingEmptySubsequences: false) {
                let paused = alternative.hasPrefix("~")
                let rid = paused ? alternative.dropFirst() : alternative
                guard !rid.isEmpty else { throw SDPScan.fail(value, "empty rid in simulcast") }
                alternatives.append(Stream(rid: String(rid), paused: paused))
            }
            result.append(alternatives)
        }
        return result
    }

    static func format(_ streams: [[Stream]]) -> String {
        streams.map { $0.map { ($0.paused ? "~" : "") + $0.rid }.joined(separator: ",") }.joined(separator: ";")
    }

    /// Every rid in the send direction, first alternative of each stream first.
    public var sendRids: [String] { send.flatMap { $0.map(\.rid) } }
    public var recvRids: [String] { recv.flatMap { $0.map(\.rid) } }

    public var sdpValue: String {
        var parts: [String] = []
        if !send.isEmpty { parts.append("send " + Self.format(send)) }
        if !recv.isEmpty { parts.append("recv " + Self.format(recv)) }
        return parts.joined(separator: " ")
    }
}
