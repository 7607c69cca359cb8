/// ICE candidate types (RFC 8445 §5.1.1).
public enum ICECandidateType: String, Sendable, Equatable {
    case host
    /// Server reflexive (address as seen by a STUN server).
    case srflx
    /// Peer reflexive (learned from a connectivity check).
    case prflx
    /// TURN relay.
    case relay
}

/// One ICE candidate, as in `a=candidate:` (RFC 8839 §5.1) and in trickled candidate strings.
///
///     candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
///               [raddr <addr>] [rport <port>] [tcptype <active|passive|so>] [<name> <value>]...
public struct ICECandidate: Sendable, Equatable, CustomStringConvertible {
    /// A trailing `<name> <value>` pair we do not model (generation, ufrag, network-id, ...).
    public struct Extension: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var foundation: String
    /// 1 = RTP, 2 = RTCP (absent with rtcp-mux).
    public var component: Int
    /// As written ("udp", "UDP", "tcp"); compare with `isUDP`/`isTCP`.
    public var transport: String
    public var priority: UInt32
    /// IP address or, for mDNS-obfuscated host candidates, a "<uuid>.local" name.
    public var address: String
    public var port: UInt16
    public var type: ICECandidateType
    public var relatedAddress: String?
    public var relatedPort: UInt16?
    public var tcpType: String?
    public var extensions: [Extension]

    public init(
        foundation: String, component: Int = 1, transport: String = "udp", priority: UInt32, address: String, port: UInt16,
        type: ICECandidateType, relatedAddress: String? = nil, relatedPort: UInt16? = nil, tcpType: String? = nil,
        extensions: [Extension] = []
    ) {
        self.foundation = foundation
        self.component = component
        self.transport = transport
        self.priority = priority
        self.address = address
        self.port = port
        self.type = type
        self.relatedAddress = relatedAddress
        self.relatedPort = relatedPort
        self.tcpType = tcpType
        self.extensions = extensions
    }

    public var isUDP: Bool { transport.lowercased() == "udp" }
    public var isTCP: Bool { transport.lowercased() == "tcp" }

    /// Accepts "a=candidate:...", "candidate:..." or the bare attribute value.
    public init(parsing text: some StringProtocol) throws(SDPParseError) {
        var value = Substring(text)
        if value.hasPrefix("a=") { value = value.dropFirst(2) }
        if value.hasPrefix("candidate:") { value = value.dropFirst("candidate:".count) }
        let f = SDPScan.fields(value)
        guard f.count >= 8 else { throw SDPScan.fail(text, "candidate needs at least 8 fields") }
        guard f[6] == "typ" else { throw SDPScan.fail(text, "expected \"typ\" as the 7th field") }
        guard let type = ICECandidateType(rawValue: String(f[7])) else {
            throw SDPScan.fail(text, "unknown candidate type \"\(f[7])\"")
        }
        self.init(
            foundation: String(f[0]), component: try SDPScan.integer(f[1], "component", in: text), transport: String(f[2]),
            priority: try SDPScan.integer(f[3], "priority", in: text), address: String(f[4]),
            port: try SDPScan.integer(f[5], "port", in: text), type: type)
        var index = 8
        while index < f.count {
            guard index + 1 < f.count else { throw SDPScan.fail(text, "\"\(f[index])\" has no value") }
            let name = f[index]
            let value = f[index + 1]
            switch name {
            case "raddr": relatedAddress = String(value)
            case "rport": relatedPort = try SDPScan.integer(value, "rport", in: text)
            case "tcptype": tcpType = String(value)
            default: extensions.append(Extension(name: String(name), value: String(value)))
            }
            index += 2
        }
    }

    /// The value after "a=candidate:".
    public var sdpValue: String {
        var s = "\(foundation) \(component) \(transport) \(priority) \(address) \(port) typ \(type.rawValue)"
        if let relatedAddress { s += " raddr \(relatedAddress)" }
        if let relatedPort { s += " rport \(relatedPort)" }
        if let tcpType { s += " tcptype \(tcpType)" }
        for e in extensions { s += " \(e.name) \(e.value)" }
        return s
    }

    /// "candidate:..." as used by trickle ICE (RTCIceCandidateInit.candidate).
    public var description: String { "candidate:" + sdpValue }

    /// The RFC 8445 §5.1.2 priority: (2^24 x type pref) + (2^8 x local pref) + (256 - component).
    public static func priority(typePreference: UInt32, localPreference: UInt32, component: Int) -> UInt32 {
        (typePreference << 24) + ((localPreference & 0xFFFF) << 8) + UInt32(256 - min(max(component, 1), 256))
    }
}
