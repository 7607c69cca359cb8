/// One `m=` section and its attributes. Modelled attributes have typed fields; anything else is
/// kept in `attributes` (and non-`a=` lines in `otherLines`) so serialize(parse(x)) keeps them.
public struct SDPMediaSection: Sendable, Equatable {
    /// "audio", "video", "application", ...
    public var kind: String
    /// 9 (discard) in WebRTC until candidates say otherwise; 0 = rejected section.
    public var port: Int
    public var portCount: Int?
    /// "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ...
    public var proto: String
    /// Payload types (or "webrtc-datachannel") as listed in the m-line, in preference order.
    public var formats: [String]

    public var connection: SDPConnection?
    public var bandwidths: [SDPBandwidth] = []
    public var otherLines: [SDPLine] = []

    public var mid: String?
    public var direction: SDPDirection?
    public var msids: [SDPMediaStreamID] = []
    /// `a=rtcp:` value, verbatim ("9 IN IP4 0.0.0.0").
    public var rtcp: String?
    public var rtcpMux = false
    public var rtcpMuxOnly = false
    public var rtcpReducedSize = false

    public var iceUfrag: String?
    public var icePwd: String?
    public var iceOptions: [String] = []
    public var candidates: [ICECandidate] = []
    public var endOfCandidates = false
    public var fingerprints: [SDPFingerprint] = []
    public var setup: SDPSetupRole?

    public var extmaps: [SDPExtmap] = []
    public var extmapAllowMixed = false
    public var rtpMaps: [SDPRTPMap] = []
    public var fmtps: [SDPFmtp] = []
    public var rtcpFeedback: [SDPRTCPFeedback] = []
    public var ssrcGroups: [SDPSSRCGroup] = []
    public var ssrcs: [SDPSSRCAttribute] = []
    public var rids: [SDPRid] = []
    public var simulcast: SDPSimulcast?

    public var sctpPort: Int?
    public var maxMessageSize: Int?

    /// Unmodelled attributes, in their original relative order.
    public var attributes: [SDPAttribute] = []

    public init(kind: String, port: Int = 9, portCount: Int? = nil, proto: String, formats: [String]) {
        self.kind = kind
        self.port = port
        self.portCount = portCount
        self.proto = proto
        self.formats = formats
    }

    /// Parses the value of an `m=` line.
    public init(parsingMediaLine value: some StringProtocol) throws(SDPParseError) {
        let f = SDPScan.fields(value)
        guard f.count >= 3 else { throw SDPScan.fail(value, "m= needs <media> <port> <proto> [<fmt>...]") }
        let (portText, countText) = SDPScan.splitFirst(f[1], "/")
        self.init(
            kind: String(f[0]), port: try SDPScan.integer(portText, "port", in: value),
            portCount: try countText.map { text throws(SDPParseError) in try SDPScan.integer(text, "port count", in: value) },
            proto: String(f[2]), formats: f.dropFirst(3).map(String.init))
    }

    public var mediaLine: String {
        (["\(kind) \(port)" + (portCount.map { "/\($0)" } ?? ""), proto] + formats).joined(separator: " ")
    }

    // MARK: Attribute dispatch

    /// Applies one `a=` line (name and optional value). Throws for a modelled attribute with a
    /// bad value; unknown names are kept verbatim.
    mutating func apply(name: Substring, value: Substring?) throws(SDPParseError) {
        func required() throws(SDPParseError) -> Substring {
            guard let value else { throw SDPScan.fail(name, "a=\(name) needs a value") }
            return value
        }
        switch name {
        case "mid": mid = String(try required())
        case "sendrecv", "sendonly", "recvonly", "inactive": direction = SDPDirection(rawValue: String(name))
        case "msid": msids.append(try SDPMediaStreamID(parsing: try required()))
        case "rtcp": rtcp = String(try required())
        case "rtcp-mux": rtcpMux = true
        case "rtcp-mux-only": rtcpMuxOnly = true
        case "rtcp-rsize": rtcpReducedSize = true
        case "ice-ufrag": iceUfrag = String(try required())
        case "ice-pwd": icePwd = String(try required())
        case "ice-options": iceOptions = SDPScan.fields(try required()).map(String.init)
        case "candidate": candidates.append(try ICECandidate(parsing: try required()))
        case "end-of-candidates": endOfCandidates = true
        case "fingerprint": fingerprints.append(try SDPFingerprint(parsing: try required()))
        case "setup":
            let text = try required()
            guard let role = SDPSetupRole(rawValue: String(text)) else { throw SDPScan.fail(text, "unknown setup role") }
            setup = role
        case "extmap": extmaps.append(try SDPExtmap(parsing: try required()))
        case "extmap-allow-mixed": extmapAllowMixed = true
        case "rtpmap": rtpMaps.append(try SDPRTPMap(parsing: try required()))
        case "fmtp": fmtps.append(try SDPFmtp(parsing: try required()))
        case "rtcp-fb": rtcpFeedback.append(try SDPRTCPFeedback(parsing: try required()))
        case "ssrc": ssrcs.append(try SDPSSRCAttribute(parsing: try required()))
        case "ssrc-group": ssrcGroups.append(try SDPSSRCGroup(parsing: try required()))
        case "rid": rids.append(try SDPRid(parsing: try required()))
        case "simulcast": simulcast = try SDPSimulcast(parsing: try required())
        case "sctp-port": sctpPort = try SDPScan.integer(try required(), "sctp-port", in: try required())
        case "max-message-size": maxMessageSize = try SDPScan.integer(try required(), "max-message-size", in: try required())
        default: attributes.append(SDPAttribute(name: String(name), value: value.map(String.init)))
        }
    }

    // MARK: Serialization

    /// Lines in the order Chrome writes them, so Chrome-originated SDP re-serializes unchanged.
    func appendLines(to out: inout [String]) {
        out.append("m=" + mediaLine)
        for line in otherLines where line.type == "i" { out.append("i=\(line.value)") }
        if let connection { out.append("c=" + connection.sdpValue) }
        for b in bandwidths { out.append("b=" + b.sdpValue) }
        for line in otherLines where line.type != "i" { out.append("\(line.type)=\(line.value)") }
        if let rtcp { out.append("a=rtcp:\(rtcp)") }
        for c in candidates { out.append("a=candidate:" + c.sdpValue) }
        if let iceUfrag { out.append("a=ice-ufrag:\(iceUfrag)") }
        if let icePwd { out.append("a=ice-pwd:\(icePwd)") }
        if !iceOptions.isEmpty { out.append("a=ice-options:" + iceOptions.joined(separator: " ")) }
        for f in fingerprints { out.append("a=fingerprint:" + f.sdpValue) }
        if let setup { out.append("a=setup:\(setup.rawValue)") }
        if let mid { out.append("a=mid:\(mid)") }
        for e in extmaps { out.append("a=extmap:" + e.sdpValue) }
        if extmapAllowMixed { out.append("a=extmap-allow-mixed") }
        if let direction { out.append("a=\(direction.rawValue)") }
        for m in msids { out.append("a=msid:" + m.sdpValue) }
        if rtcpMux { out.append("a=rtcp-mux") }
        if rtcpMuxOnly { out.append("a=rtcp-mux-only") }
        if rtcpReducedSize { out.append("a=rtcp-rsize") }
        appendCodecLines(to: &out)
        for r in rids { out.append("a=rid:" + r.sdpValue) }
        if let simulcast { out.append("a=simulcast:" + simulcast.sdpValue) }
        for g in ssrcGroups { out.append("a=ssrc-group:" + g.sdpValue) }
        for s in ssrcs { out.append("a=ssrc:" + s.sdpValue) }
        if let sctpPort { out.append("a=sctp-port:\(sctpPort)") }
        if let maxMessageSize { out.append("a=max-message-size:\(maxMessageSize)") }
        for a in attributes { out.append(a.sdpLine) }
        if endOfCandidates { out.append("a=end-of-candidates") }
    }

    /// rtpmap, rtcp-fb, fmtp grouped per payload type in m-line order (Chrome's layout); lines
    /// for payload types not in the m-line, and wildcard feedback, follow.
    func appendCodecLines(to out: inout [String]) {
        var done = Set<UInt8>()
        let listed = formats.compactMap { UInt8($0) }
        for pt in listed where !done.contains(pt) {
            done.insert(pt)
            for m in rtpMaps where m.payloadType == pt { out.append("a=rtpmap:" + m.sdpValue) }
            for fb in rtcpFeedback where fb.payloadType == pt { out.append("a=rtcp-fb:" + fb.sdpValue) }
            for f in fmtps where f.payloadType == pt { out.append("a=fmtp:" + f.sdpValue) }
        }
        for m in rtpMaps where !done.contains(m.payloadType) { out.append("a=rtpmap:" + m.sdpValue) }
        for fb in rtcpFeedback where fb.payloadType.map({ !done.contains($0) }) ?? true { out.append("a=rtcp-fb:" + fb.sdpValue) }
        for f in fmtps where !done.contains(f.payloadType) { out.append("a=fmtp:" + f.sdpValue) }
    }

    // MARK: Helpers the SFU needs

    /// Payload types whose rtpmap names `codec` (case-insensitive), in m-line preference order.
    public func payloadTypes(forCodec codec: String) -> [UInt8] {
        let wanted = codec.lowercased()
        let matching = Set(rtpMaps.filter { $0.encodingName.lowercased() == wanted }.map(\.payloadType))
        let ordered = formats.compactMap(UInt8.init).filter { matching.contains($0) }
        return ordered + rtpMaps.map(\.payloadType).filter { matching.contains($0) && !ordered.contains($0) }
    }

    /// The preferred payload type for `codec`, if offered.
    public func payloadType(forCodec codec: String) -> UInt8? {
        payloadTypes(forCodec: codec).first
    }

    public func rtpMap(for payloadType: UInt8) -> SDPRTPMap? {
        rtpMaps.first { $0.payloadType == payloadType }
    }

    public func fmtp(for payloadType: UInt8) -> SDPFmtp? {
        fmtps.first { $0.payloadType == payloadType }
    }

    /// rtpmap + fmtp + rtcp-fb (including "*") for one payload type.
    public func codec(for payloadType: UInt8) -> SDPCodec? {
        guard let map = rtpMap(for: payloadType) else { return nil }
        return SDPCodec(
            payloadType: payloadType, name: map.encodingName, clockRate: map.clockRate, channels: map.channels,
            parameters: fmtp(for: payloadType)?.parameters ?? "",
            feedback: rtcpFeedback.filter { $0.payloadType == nil || $0.payloadType == payloadType })
    }

    /// Every payload type of the m-line that has an rtpmap, in preference order.
    public var codecs: [SDPCodec] {
        formats.compactMap(UInt8.init).compactMap(codec(for:))
    }

    /// RTX payload type -> the payload type it repairs (from `a=fmtp:<rtx> apt=<pt>`).
    public var rtxAssociations: [UInt8: UInt8] {
        var result: [UInt8: UInt8] = [:]
        for pt in payloadTypes(forCodec: "rtx") {
            if let apt = fmtp(for: pt)?.parameterDictionary["apt"].flatMap(UInt8.init) { result[pt] = apt }
        }
        return result
    }

    /// The RTX payload type that repairs `payloadType`, if one was negotiated.
    public func rtxPayloadType(forPrimary payloadType: UInt8) -> UInt8? {
        rtxAssociations.filter { $0.value == payloadType }.keys.min()
    }

    /// Rid ids in `a=rid` order (optionally only one direction).
    public func ridIDs(direction: SDPRid.Direction? = nil) -> [String] {
        rids.filter { direction == nil || $0.direction == direction }.map(\.id)
    }

    /// The extmap id negotiated for `uri`, if any.
    public func extmapID(for uri: String) -> UInt8? {
        extmaps.first { $0.uri == uri }?.id
    }

    /// Value of `a=ssrc:<ssrc> <attribute>:...`, e.g. the cname.
    public func ssrcAttribute(_ attribute: String, for ssrc: UInt32) -> String? {
        ssrcs.first { $0.ssrc == ssrc && $0.attribute == attribute }?.value
    }

    /// Distinct SSRCs in `a=ssrc` order.
    public var ssrcList: [UInt32] {
        var seen = Set<UInt32>()
        return ssrcs.map(\.ssrc).filter { seen.insert($0).inserted }
    }

    public func ssrcGroups(semantics: String) -> [SDPSSRCGroup] {
        ssrcGroups.filter { $0.semantics == semantics }
    }

    /// True when the section is rejected (port 0) per RFC 8843/3264.
    public var isRejected: Bool { port == 0 }
}
