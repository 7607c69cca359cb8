/// A line of SDP we could not understand. Names the line so a signalling error sent back to a
/// client (or logged) points straight at the offending text.
public struct SDPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line number in the parsed text; nil when a single value was parsed on its own.
    public var lineNumber: Int?
    /// The offending line (or value) as received.
    public var line: String
    public var reason: String

    public init(lineNumber: Int? = nil, line: String, reason: String) {
        self.lineNumber = lineNumber
        self.line = line
        self.reason = reason
    }

    public var description: String {
        if let lineNumber { return "SDP line \(lineNumber) \"\(line)\": \(reason)" }
        return "SDP value \"\(line)\": \(reason)"
    }
}

/// Small shared parsing helpers for the SDP value types.
enum SDPScan {
    static func fields(_ value: some StringProtocol) -> [Substring] {
        value.split(separator: " ", omittingEmptySubsequences: true).map { Substring($0) }
    }

    /// Splits at the first occurrence of `separator`: ("a:b:c", ":") -> ("a", "b:c").
    static func splitFirst(_ value: Substring, _ separator: Character) -> (Substring, Substring?) {
        guard let index = value.firstIndex(of: separator) else { return (value, nil) }
        return (value[..<index], value[value.index(after: index)...])
    }

    static func integer<T: FixedWidthInteger>(_ text: some StringProtocol, _ what: String, in value: some StringProtocol) throws(SDPParseError) -> T {
        guard let number = T(text) else {
            throw SDPParseError(line: String(value), reason: "\(what) is not a valid number: \"\(text)\"")
        }
        return number
    }

    static func fail(_ value: some StringProtocol, _ reason: String) -> SDPParseError {
        SDPParseError(line: String(value), reason: reason)
    }
}
