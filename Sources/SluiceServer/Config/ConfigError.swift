/// A configuration problem, named by key and (when it came from a file) line, so the user can fix it.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public var key: String
    public var line: Int?
    public var message: String

    public init(key: String, line: Int?, _ message: String) {
        self.key = key
        self.line = line
        self.message = message
    }

    public var description: String {
        var where_ = key.isEmpty ? "config" : "config key '\(key)'"
        if let line { where_ += " (line \(line))" }
        return "\(where_): \(message)"
    }
}
