/// Where the cluster's Redis is and how to log in: the `redis:` block, with LiveKit's key names.
public struct RedisSettings: Sendable, Equatable {
    /// `host:port` of the Redis server (ignored when `sentinelAddresses` is set).
    public var address = "127.0.0.1:6379"
    /// Redis 6 ACL user; empty: the password alone (`AUTH password`).
    public var username = ""
    public var password = ""
    public var db = 0
    /// TLS to Redis. Debian's hiredis (0.14) is built without TLS, so this is refused at start
    /// with that reason rather than silently sending the password in clear.
    public var useTLS = false
    /// Sentinel: the master's name and the sentinels to ask where it is.
    public var sentinelMasterName = ""
    public var sentinelAddresses: [String] = []
    public var sentinelUsername = ""
    public var sentinelPassword = ""

    public init() {}

    /// Splits `host:port` (`[v6]:port` too); the port defaults to Redis's 6379.
    public static func hostPort(_ address: String, defaultPort: Int = 6379) -> (host: String, port: Int)? {
        var text = Substring(address)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            text = text[text.index(after: close)...]
            if text.isEmpty { return (host, defaultPort) }
            guard text.hasPrefix(":"), let port = Int(text.dropFirst()), (1...65535).contains(port) else { return nil }
            return (host, port)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty else { return nil }
        if parts.count == 1 { return (String(host), defaultPort) }
        guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else { return nil }
        return (String(host), port)
    }
}
