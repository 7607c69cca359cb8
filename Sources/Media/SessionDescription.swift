/// An SDP session description (RFC 8866) as WebRTC uses it (RFC 8829 JSEP).
///
/// Parsing is strict about what we model (a bad candidate or rtpmap is an error naming the line)
/// and lenient about everything else: unknown lines and attributes are kept and written back.
/// Serialization uses Chrome's line order and CRLF endings.
public struct SessionDescription: Sendable, Equatable, CustomStringConvertible {
    public var version: Int = 0
    public var origin: SDPOrigin
    public var sessionName: String = "-"
    public var connection: SDPConnection?
    public var bandwidths: [SDPBandwidth] = []
    public var timing: SDPTiming = SDPTiming()
    /// i=, u=, e=, p=, r=, z=, k= and unknown line types, verbatim.
    public var otherLines: [SDPLine] = []

    public var groups: [SDPGroup] = []
    /// `a=msid-semantic:` value verbatim (Chrome writes " WMS" with a leading space).
    public var msidSemantic: String?
    public var iceLite = false
    public var iceUfrag: String?
    public var icePwd: String?
    public var iceOptions: [String] = []
    public var fingerprints: [SDPFingerprint] = []
    public var setup: SDPSetupRole?
    public var direction: SDPDirection?
    public var extmaps: [SDPExtmap] = []
    public var extmapAllowMixed = false
    public var attributes: [SDPAttribute] = []

    public var mediaSections: [SDPMediaSection] = []

    public init(origin: SDPOrigin, sessionName: String = "-", mediaSections: [SDPMediaSection] = []) {
        self.origin = origin
        self.sessionName = sessionName
        self.mediaSections = mediaSections
    }

    // MARK: Parsing

    public init(parsing text: some StringProtocol) throws(SDPParseError) {
        var session: SessionDescription?
        var sawVersion = false
        var pendingVersion = 0
        var pendingName: String?
        var pendingLines: [SDPLine] = []  // lines seen before o= (tolerated, kept)
        var lineNumber = 0

        // Both CRLF and bare LF occur in the wild. "\r\n" is a single Character in Swift, and
        // `isNewline` matches it as well as "\n", so each separator is exactly one line break.
        for rawLine in String(text).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let line = Substring(rawLine)
            if line.isEmpty { continue }
            do throws(SDPParseError) {
                guard line.count >= 2, line[line.index(after: line.startIndex)] == "=" else {
                    throw SDPScan.fail(line, "expected <type>=<value>")
                }
                let type = line.first!
                let value = line.dropFirst(2)
                if !sawVersion {
                    guard type == "v" else { throw SDPScan.fail(line, "SDP must start with v=") }
                    pendingVersion = try SDPScan.integer(value, "version", in: line)
                    sawVersion = true
                    continue
                }
                guard var current = session else {
                    switch type {
                    case "o":
                        var s = SessionDescription(origin: try SDPOrigin(parsing: value))
                        s.version = pendingVersion
                        s.otherLines = pendingLines
                        session = s
                    case "s": pendingName = String(value)
                    case "m", "a", "c", "b", "t":
                        // Structure before the origin: kept verbatim it would be written back in the
                        // wrong place, where it no longer parses (found by fuzz/FuzzSDP).
                        throw SDPScan.fail(line, "\(type)= before the o= line")
                    default: pendingLines.append(SDPLine(type: type, value: String(value)))
                    }
                    continue
                }
                session = nil  // keep `current` uniquely referenced while mutating
                defer { session = current }
                if type == "m" {
                    current.mediaSections.append(try SDPMediaSection(parsingMediaLine: value))
                } else if current.mediaSections.isEmpty {
                    try current.applySessionLine(type: type, value: value)
                } else {
                    let index = current.mediaSections.count - 1
                    try Self.applyMediaLine(type: type, value: value, to: &current.mediaSections[index])
                }
            } catch {
                var located = error
                located.lineNumber = lineNumber
                located.line = String(line)
                throw located
            }
        }
        guard var result = session else {
            throw SDPParseError(lineNumber: lineNumber, line: "", reason: sawVersion ? "missing o= line" : "empty SDP")
        }
        if let pendingName { result.sessionName = pendingName }
        self = result
    }

    mutating func applySessionLine(type: Character, value: Substring) throws(SDPParseError) {
        switch type {
        case "s": sessionName = String(value)
        case "c": connection = try SDPConnection(parsing: value)
        case "b": bandwidths.append(try SDPBandwidth(parsing: value))
        case "t": timing = try SDPTiming(parsing: value)
        case "a":
            let (name, attributeValue) = SDPScan.splitFirst(value, ":")
            try applySessionAttribute(name: name, value: attributeValue)
        default: otherLines.append(SDPLine(type: type, value: String(value)))
        }
    }

    mutating func applySessionAttribute(name: Substring, value: Substring?) throws(SDPParseError) {
        func required() throws(SDPParseError) -> Substring {
            guard let value else { throw SDPScan.fail(name, "a=\(name) needs a value") }
            return value
        }
        switch name {
        case "group": groups.append(try SDPGroup(parsing: try required()))
        case "msid-semantic": msidSemantic = String(try required())
        case "ice-lite": iceLite = true
        case "ice-ufrag": iceUfrag = String(try required())
        case "ice-pwd": icePwd = String(try required())
        case "ice-options": iceOptions = SDPScan.fields(try required()).map(String.init)
        case "fingerprint": fingerprints.append(try SDPFingerprint(parsing: try required()))
        case "setup":
            let text = try required()
            guard let role = SDPSetupRole(rawValue: String(text)) else { throw SDPScan.fail(text, "unknown setup role") }
            setup = role
        case "sendrecv", "sendonly", "recvonly", "inactive": direction = SDPDirection(rawValue: String(name))
        case "extmap": extmaps.append(try SDPExtmap(parsing: try required()))
        case "extmap-allow-mixed": extmapAllowMixed = true
        default: attributes.append(SDPAttribute(name: String(name), value: value.map(String.init)))
        }
    }

    static func applyMediaLine(type: Character, value: Substring, to media: inout SDPMediaSection) throws(SDPParseError) {
        switch type {
        case "c": media.connection = try SDPConnection(parsing: value)
        case "b": media.bandwidths.append(try SDPBandwidth(parsing: value))
        case "a":
            let (name, attributeValue) = SDPScan.splitFirst(value, ":")
            try media.apply(name: name, value: attributeValue)
        default: media.otherLines.append(SDPLine(type: type, value: String(value)))
        }
    }

    // MARK: Serialization

    /// The SDP text with CRLF line endings (including after the last line, as JSEP requires).
    public var sdp: String {
        var lines: [String] = ["v=\(version)", "o=" + origin.sdpValue, "s=\(sessionName)"]
        let early: Set<Character> = ["i", "u", "e", "p"]
        for line in otherLines where early.contains(line.type) { lines.append("\(line.type)=\(line.value)") }
        if let connection { lines.append("c=" + connection.sdpValue) }
        for b in bandwidths { lines.append("b=" + b.sdpValue) }
        lines.append("t=" + timing.sdpValue)
        for line in otherLines where !early.contains(line.type) { lines.append("\(line.type)=\(line.value)") }
        if iceLite { lines.append("a=ice-lite") }
        if let iceUfrag { lines.append("a=ice-ufrag:\(iceUfrag)") }
        if let icePwd { lines.append("a=ice-pwd:\(icePwd)") }
        if !iceOptions.isEmpty { lines.append("a=ice-options:" + iceOptions.joined(separator: " ")) }
        for f in fingerprints { lines.append("a=fingerprint:" + f.sdpValue) }
        if let setup { lines.append("a=setup:\(setup.rawValue)") }
        for g in groups { lines.append("a=group:" + g.sdpValue) }
        if extmapAllowMixed { lines.append("a=extmap-allow-mixed") }
        if let msidSemantic { lines.append("a=msid-semantic:\(msidSemantic)") }
        if let direction { lines.append("a=\(direction.rawValue)") }
        for e in extmaps { lines.append("a=extmap:" + e.sdpValue) }
        for a in attributes { lines.append(a.sdpLine) }
        for media in mediaSections { media.appendLines(to: &lines) }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    public var description: String { sdp }

    // MARK: Helpers

    /// Mids of the first BUNDLE group, if any.
    public var bundleMids: [String]? {
        groups.first { $0.semantics == "BUNDLE" }?.identifiers
    }

    public func mediaSection(mid: String) -> SDPMediaSection? {
        mediaSections.first { $0.mid == mid }
    }

    /// ICE credentials of a section, falling back to session level (RFC 8839 allows either).
    public func iceCredentials(for media: SDPMediaSection) -> (ufrag: String, pwd: String)? {
        guard let ufrag = media.iceUfrag ?? iceUfrag, let pwd = media.icePwd ?? icePwd else { return nil }
        return (ufrag, pwd)
    }

    /// DTLS fingerprints of a section, falling back to session level.
    public func fingerprints(for media: SDPMediaSection) -> [SDPFingerprint] {
        media.fingerprints.isEmpty ? fingerprints : media.fingerprints
    }
}
