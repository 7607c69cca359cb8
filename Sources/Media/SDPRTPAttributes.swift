/// `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`.
public struct SDPRTPMap: Sendable, Equatable {
    public var payloadType: UInt8
    public var encodingName: String
    public var clockRate: UInt32
    public var channels: Int?

    public init(payloadType: UInt8, encodingName: String, clockRate: UInt32, channels: Int? = nil) {
        self.payloadType = payloadType
        self.encodingName = encodingName
        self.clockRate = clockRate
        self.channels = channels
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let f = SDPScan.fields(value)
        guard f.count == 2 else { throw SDPScan.fail(value, "rtpmap needs <pt> <encoding>/<clock>") }
        let parts = f[1].split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty else { throw SDPScan.fail(value, "bad encoding \"\(f[1])\"") }
        let payloadType: UInt8 = try SDPScan.integer(f[0], "payload type", in: value)
        guard payloadType < 128 else { throw SDPScan.fail(value, "payload type above 127") }
        self.init(
            payloadType: payloadType, encodingName: String(parts[0]),
            clockRate: try SDPScan.integer(parts[1], "clock rate", in: value),
            channels: parts.count == 3 ? try SDPScan.integer(parts[2], "channels", in: value) : nil)
    }

    public var sdpValue: String {
        "\(payloadType) \(encodingName)/\(clockRate)" + (channels.map { "/\($0)" } ?? "")
    }
}

/// `a=fmtp:<pt> <parameters>`; parameters kept as text so unknown codec options survive.
public struct SDPFmtp: Sendable, Equatable {
    public var payloadType: UInt8
    public var parameters: String

    public init(payloadType: UInt8, parameters: String) {
        self.payloadType = payloadType
        self.parameters = parameters
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let (pt, rest) = SDPScan.splitFirst(Substring(value), " ")
        self.init(payloadType: try SDPScan.integer(pt, "payload type", in: value), parameters: String(rest ?? ""))
    }

    /// `key=value;key=value` as a dictionary; keys without '=' map to "". Later duplicates win.
    public var parameterDictionary: [String: String] {
        var result: [String: String] = [:]
        for item in parameters.split(separator: ";") {
            let trimmed = item.drop { $0 == " " }
            let (key, value) = SDPScan.splitFirst(Substring(trimmed), "=")
            result[String(key)] = String(value ?? "")
        }
        return result
    }

    public var sdpValue: String { parameters.isEmpty ? "\(payloadType)" : "\(payloadType) \(parameters)" }
}

/// `a=rtcp-fb:<pt|*> <type> [<parameter>]` (RFC 4585), e.g. "96 nack pli".
public struct SDPRTCPFeedback: Sendable, Equatable {
    /// nil for the "*" wildcard (applies to every payload type).
    public var payloadType: UInt8?
    public var type: String
    public var parameter: String?

    public init(payloadType: UInt8?, type: String, parameter: String? = nil) {
        self.payloadType = payloadType
        self.type = type
        self.parameter = parameter
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let f = SDPScan.fields(value)
        guard f.count >= 2 else { throw SDPScan.fail(value, "rtcp-fb needs <pt> <type>") }
        let pt: UInt8? = f[0] == "*" ? nil : try SDPScan.integer(f[0], "payload type", in: value)
        self.init(payloadType: pt, type: String(f[1]), parameter: f.count > 2 ? f[2...].joined(separator: " ") : nil)
    }

    public var sdpValue: String {
        "\(payloadType.map(String.init) ?? "*") \(type)" + (parameter.map { " \($0)" } ?? "")
    }
}

/// `a=extmap:<id>[/<direction>] <uri> [<attributes>]` (RFC 8285).
public struct SDPExtmap: Sendable, Equatable {
    public var id: UInt8
    public var direction: SDPDirection?
    public var uri: String
    public var extensionAttributes: String?

    public init(id: UInt8, direction: SDPDirection? = nil, uri: String, extensionAttributes: String? = nil) {
        self.id = id
        self.direction = direction
        self.uri = uri
        self.extensionAttributes = extensionAttributes
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let f = SDPScan.fields(value)
        guard f.count >= 2 else { throw SDPScan.fail(value, "extmap needs <id> <uri>") }
        let (idText, directionText) = SDPScan.splitFirst(f[0], "/")
        let id: UInt8 = try SDPScan.integer(idText, "extmap id", in: value)
        guard id >= 1, id <= 255 else { throw SDPScan.fail(value, "extmap id must be 1...255") }
        var direction: SDPDirection?
        if let directionText {
            guard let parsed = SDPDirection(rawValue: String(directionText)) else { throw SDPScan.fail(value, "bad extmap direction") }
            direction = parsed
        }
        self.init(id: id, direction: direction, uri: String(f[1]), extensionAttributes: f.count > 2 ? f[2...].joined(separator: " ") : nil)
    }

    public var sdpValue: String {
        "\(id)" + (direction.map { "/\($0.rawValue)" } ?? "") + " \(uri)" + (extensionAttributes.map { " \($0)" } ?? "")
    }
}

/// `a=msid:<stream-id> [<track-id>]` (RFC 8830).
public struct SDPMediaStreamID: Sendable, Equatable {
    public var streamID: String
    public var trackID: String?

    public init(streamID: String, trackID: String? = nil) {
        self.streamID = streamID
        self.trackID = trackID
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let f = SDPScan.fields(value)
        guard f.count == 1 || f.count == 2 else { throw SDPScan.fail(value, "msid needs <stream> [<track>]") }
        self.init(streamID: String(f[0]), trackID: f.count == 2 ? String(f[1]) : nil)
    }

    public var sdpValue: String { trackID.map { "\(streamID) \($0)" } ?? streamID }
}

/// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576), e.g. "1234 cname:abc".
public struct SDPSSRCAttribute: Sendable, Equatable {
    public var ssrc: UInt32
    public var attribute: String
    public var value: String?

    public init(ssrc: UInt32, attribute: String, value: String? = nil) {
        self.ssrc = ssrc
        self.attribute = attribute
        self.value = value
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let (ssrcText, rest) = SDPScan.splitFirst(Substring(value), " ")
        guard let rest, !rest.isEmpty else { throw SDPScan.fail(value, "ssrc needs <ssrc> <attribute>") }
        let (attribute, attributeValue) = SDPScan.splitFirst(rest, ":")
        self.init(ssrc: try SDPScan.integer(ssrcText, "ssrc", in: value), attribute: String(attribute), value: attributeValue.map(String.init))
    }

    public var sdpValue: String { "\(ssrc) \(attribute)" + (value.map { ":\($0)" } ?? "") }
}

/// `a=ssrc-group:<semantics> <ssrc>...` (RFC 5576): FID pairs media with RTX, SIM lists layers.
public struct SDPSSRCGroup: Sendable, Equatable {
    public var semantics: String
    public var ssrcs: [UInt32]

    public init(semantics: String, ssrcs: [UInt32]) {
        self.semantics = semantics
        self.ssrcs = ssrcs
    }

    public init(parsing value: some StringProtocol) throws(SDPParseError) {
        let f = SDPScan.fields(value)
        guard f.count >= 2 else { throw SDPScan.fail(value, "ssrc-group needs <semantics> <ssrc>...") }
        var ssrcs: [UInt32] = []
        for text in f.dropFirst() { ssrcs.append(try SDPScan.integer(text, "ssrc", in: value)) }
        self.init(semantics: String(f[0]), ssrcs: ssrcs)
    }

    public var sdpValue: String { ([semantics] + ssrcs.map(String.init)).joined(separator: " ") }
}

/// A payload type's rtpmap, fmtp and rtcp-fb lines taken together.
public struct SDPCodec: Sendable, Equatable {
    public var payloadType: UInt8
    public var name: String
    public var clockRate: UInt32
    public var channels: Int?
    /// Raw fmtp parameters ("" when none).
    public var parameters: String
    /// Feedback for this payload type, including "*" wildcard lines.
    public var feedback: [SDPRTCPFeedback]

    public init(payloadType: UInt8, name: String, clockRate: UInt32, channels: Int? = nil, parameters: String = "", feedback: [SDPRTCPFeedback] = []) {
        self.payloadType = payloadType
        self.name = name
        self.clockRate = clockRate
        self.channels = channels
        self.parameters = parameters
        self.feedback = feedback
    }

    public var parameterDictionary: [String: String] { SDPFmtp(payloadType: payloadType, parameters: parameters).parameterDictionary }
}
