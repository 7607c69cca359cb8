/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 8866 §5.2).
public struct SDPOrigin: Sendable, Equatable {
    public var username: String
    /// Kept as text: it is an identity, never used for arithmetic, and some stacks exceed 64 bits.
    public var sessionID: String
    /// Incremented by the offerer on every renegotiation.
    public var sessionVersion: UInt64
    public var networkType: String
    public var addressType: String
    public var address: String

    public init(
        username: String = "-", sessionID: String, sessionVersion: UInt64, networkType: String = "IN",
        addressType: String = "IP4", address: String = "0.0.0.0"
    ) {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let f = SDPScan.fields(value)
        guard f.count == 6 else { throw SDPScan.fail(value, "o= needs 6 fields") }
        self.init(
            username: String(f[0]), sessionID: String(f[1]),
            sessionVersion: try SDPScan.integer(f[2], "session version", in: value),
            networkType: String(f[3]), addressType: String(f[4]), address: String(f[5]))
    }

    public var sdpValue: String {
        "\(username) \(sessionID) \(sessionVersion) \(networkType) \(addressType) \(address)"
    }
}

/// `c=<nettype> <addrtype> <connection-address>`.
public struct SDPConnection: Sendable, Equatable {
    public var networkType: String
    public var addressType: String
    /// May carry "/ttl" or "/count" for multicast; kept verbatim.
    public var address: String

    public init(networkType: String = "IN", addressType: String = "IP4", address: String = "0.0.0.0") {
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let f = SDPScan.fields(value)
        guard f.count == 3 else { throw SDPScan.fail(value, "c= needs 3 fields") }
        self.init(networkType: String(f[0]), addressType: String(f[1]), address: String(f[2]))
    }

    public var sdpValue: String { "\(networkType) \(addressType) \(address)" }
}

/// `b=<bwtype>:<bandwidth>` (AS in kbps, TIAS in bps).
public struct SDPBandwidth: Sendable, Equatable {
    public var type: String
    public var value: UInt64

    public init(type: String, value: UInt64) {
        self.type = type
        self.value = value
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let (type, number) = SDPScan.splitFirst(Substring(value), ":")
        guard let number else { throw SDPScan.fail(value, "b= needs <type>:<value>") }
        self.init(type: String(type), value: try SDPScan.integer(number, "bandwidth", in: value))
    }

    public var sdpValue: String { "\(type):\(value)" }
}

/// `t=<start-time> <stop-time>`; WebRTC always uses "0 0".
public struct SDPTiming: Sendable, Equatable {
    public var start: UInt64
    public var stop: UInt64

    public init(start: UInt64 = 0, stop: UInt64 = 0) {
        self.start = start
        self.stop = stop
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let f = SDPScan.fields(value)
        guard f.count == 2 else { throw SDPScan.fail(value, "t= needs 2 fields") }
        self.init(start: try SDPScan.integer(f[0], "start time", in: value), stop: try SDPScan.integer(f[1], "stop time", in: value))
    }

    public var sdpValue: String { "\(start) \(stop)" }
}

/// Any `x=value` line we keep verbatim (i=, u=, e=, p=, r=, z=, k=, and unknown types).
public struct SDPLine: Sendable, Equatable {
    public var type: Character
    public var value: String

    public init(type: Character, value: String) {
        self.type = type
        self.value = value
    }
}

/// An `a=` line we do not model, kept verbatim so re-serialization does not drop it.
public struct SDPAttribute: Sendable, Equatable {
    public var name: String
    /// nil for property attributes (`a=name`), otherwise everything after the first ':'.
    public var value: String?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }

    public var sdpLine: String { value.map { "a=\(name):\($0)" } ?? "a=\(name)" }
}
