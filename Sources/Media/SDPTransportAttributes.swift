/// `a=group:<semantics> <mid>...` (RFC 5888), e.g. BUNDLE or LS.
public struct SDPGroup: Sendable, Equatable {
    public var semantics: String
    public var identifiers: [String]

    public init(semantics: String, identifiers: [String]) {
        self.semantics = semantics
        self.identifiers = identifiers
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let f = SDPScan.fields(value)
        guard let semantics = f.first else { throw SDPScan.fail(value, "group needs semantics") }
        self.init(semantics: String(semantics), identifiers: f.dropFirst().map(String.init))
    }

    public var sdpValue: String { ([semantics] + identifiers).joined(separator: " ") }
}

/// `a=fingerprint:<hash-function> <hex:hex:...>` (RFC 8122): the DTLS certificate digest.
public struct SDPFingerprint: Sendable, Equatable {
    public var hashFunction: String
    public var value: String

    public init(hashFunction: String, value: String) {
        self.hashFunction = hashFunction
        self.value = value
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let f = SDPScan.fields(value)
        guard f.count == 2 else { throw SDPScan.fail(value, "fingerprint needs <hash> <value>") }
        self.init(hashFunction: String(f[0]), value: String(f[1]))
    }

    public var sdpValue: String { "\(hashFunction) \(value)" }
}

/// `a=setup:` (RFC 4145/8842): which side starts the DTLS handshake.
public enum SDPSetupRole: String, Sendable, Equatable {
    case active, passive, actpass, holdconn
}

/// Media direction attributes (RFC 8866 §6.7).
public enum SDPDirection: String, Sendable, Equatable, CaseIterable {
    case sendrecv, sendonly, recvonly, inactive

    /// The direction as seen from the other side (for building answers).
    public var reversed: SDPDirection {
        switch self {
        case .sendonly: .recvonly
        case .recvonly: .sendonly
        default: self
        }
    }
}
