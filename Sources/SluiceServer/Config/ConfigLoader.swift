import Redis
import Foundation
import Yams

/// Reads YAML into `ServerConfig`, walking the node tree so every error can name its key and line.
/// Unknown keys are errors: a typo must not silently fall back to a default.
public enum ConfigLoader {
    public static func load(file path: String) throws -> ServerConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(key: "", line: nil, "cannot read \(path): \(error.localizedDescription)")
        }
        return try parse(yaml: text)
    }

    public static func parse(yaml: String, base: ServerConfig = ServerConfig()) throws -> ServerConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigError(key: "", line: nil, "not valid YAML: \(error)")
        }
        var config = base
        guard let root else { return config }  // empty file: all defaults
        let top = try Mapping(root, key: "")
        for (key, value) in top.entries {
            switch key {
            case "port": config.port = try value.port(key)
            case "prometheus_port": config.prometheusPort = try value.port(key)
            case "bind_addresses": config.bindAddresses = try value.strings(key)
            case "rtc":
                for (k, v) in try Mapping(value.node, key: "rtc").entries {
                    let path = "rtc.\(k)"
                    switch k {
                    case "port_range_start": config.rtc.portRangeStart = try v.port(path)
                    case "port_range_end": config.rtc.portRangeEnd = try v.port(path)
                    case "node_ip": config.rtc.nodeIP = try v.string(path)
                    case "use_external_ip": config.rtc.useExternalIP = try v.bool(path)
                    case "single_peer_connection": config.rtc.singlePeerConnection = try v.bool(path)
                    case "media_workers": config.rtc.mediaWorkers = Int(try v.uint32(path))
                    case "spread_rooms_after": config.rtc.spreadRoomsAfter = Int(try v.uint32(path))
                    case "ice_tcp": config.rtc.iceTCP = try v.bool(path)
                    case "tcp_port":
                        // LiveKit's one shared ICE-TCP port: libnice listens per peer connection.
                        guard try v.port(path) == 0 else {
                            throw ConfigError(key: path, line: v.line, "Sluice cannot serve ICE-TCP on one shared port "
                                              + "(each peer connection listens on its own); set rtc.ice_tcp: true instead, "
                                              + "which listens on TCP ports from rtc.port_range_start-rtc.port_range_end")
                        }
                    case "turn_servers": config.rtc.turnServers = try turnServers(v, key: path)
                    default: throw v.unknown(path)
                    }
                }
            case "keys":
                config.keys = [:]
                for (k, v) in try Mapping(value.node, key: "keys").entries {
                    let secret = try v.string("keys.\(k)")
                    guard !secret.isEmpty else { throw ConfigError(key: "keys.\(k)", line: v.line, "secret is empty") }
                    config.keys[k] = secret
                }
            case "room":
                for (k, v) in try Mapping(value.node, key: "room").entries {
                    let path = "room.\(k)"
                    switch k {
                    case "empty_timeout": config.room.emptyTimeout = try v.uint32(path)
                    case "departure_timeout": config.room.departureTimeout = try v.uint32(path)
                    case "max_participants": config.room.maxParticipants = try v.uint32(path)
                    case "auto_create": config.room.autoCreate = try v.bool(path)
                    default: throw v.unknown(path)
                    }
                }
            case "webhook":
                for (k, v) in try Mapping(value.node, key: "webhook").entries {
                    let path = "webhook.\(k)"
                    switch k {
                    case "api_key": config.webhook.apiKey = try v.string(path)
                    case "urls": config.webhook.urls = try v.strings(path)
                    case "queue_size": config.webhook.queueSize = try v.uint32(path)
                    case "retry_seconds": config.webhook.retrySeconds = try v.uint32(path)
                    default: throw v.unknown(path)
                    }
                }
            case "logging":
                for (k, v) in try Mapping(value.node, key: "logging").entries {
                    let path = "logging.\(k)"
                    switch k {
                    case "level":
                        let level = try v.string(path).lowercased()
                        guard ["trace", "debug", "info", "notice", "warn", "warning", "error", "critical"].contains(level)
                        else { throw ConfigError(key: path, line: v.line, "unknown level '\(level)'") }
                        config.logging.level = level
                    case "json": config.logging.json = try v.bool(path)
                    default: throw v.unknown(path)
                    }
                }
            case "shutdown":
                for (k, v) in try Mapping(value.node, key: "shutdown").entries {
                    switch k {
                    case "drain_timeout": config.shutdown.drainTimeout = try v.uint32("shutdown.drain_timeout")
                    default: throw v.unknown("shutdown.\(k)")
                    }
                }
            case "cors":
                for (k, v) in try Mapping(value.node, key: "cors").entries {
                    let path = "cors.\(k)"
                    switch k {
                    case "allowed_origins":
                        // Checked one by one so the error names the entry's own line.
                        let items: [Value] = if case .sequence(let seq) = v.node { seq.map { Value(node: $0) } } else { [v] }
                        config.cors.allowedOrigins = try items.map { item in
                            let origin = try item.scalar(path, "an origin")
                            if let problem = CORSPolicy.problem(with: origin) {
                                throw ConfigError(key: path, line: item.line, problem)
                            }
                            return origin
                        }
                    default: throw v.unknown(path)
                    }
                }
            case "webapp":
                for (k, v) in try Mapping(value.node, key: "webapp").entries {
                    let path = "webapp.\(k)"
                    switch k {
                    case "enabled": config.webapp.enabled = try v.bool(path)
                    case "client_sdk":
                        let sdk = try v.nonEmptyString(path)
                        if let problem = clientSDKProblem(sdk) { throw ConfigError(key: path, line: v.line, problem) }
                        config.webapp.clientSDK = sdk
                    case "allow_dev_tokens": config.webapp.allowDevTokens = try v.bool(path)
                    default: throw v.unknown(path)
                    }
                }
            case "turn": config.turn = try turn(value, key: "turn")
            case "storage":
                for (k, v) in try Mapping(value.node, key: "storage").entries {
                    switch k {
                    case "path": config.storagePath = try v.nonEmptyString("storage.path")
                    default: throw v.unknown("storage.\(k)")
                    }
                }
            case "recordings":
                for (k, v) in try Mapping(value.node, key: "recordings").entries {
                    switch k {
                    case "path": config.recordingsPath = try v.nonEmptyString("recordings.path")
                    case "s3": config.recordingsS3 = try s3(v, key: "recordings.s3")
                    case "session_limits": config.recordingLimits = try limits(v, key: "recordings.session_limits")
                    default: throw v.unknown("recordings.\(k)")
                    }
                }
            case "redis": config.redis = try redis(value, key: "redis")
            case "cluster":
                for (k, v) in try Mapping(value.node, key: "cluster").entries {
                    switch k {
                    case "node_id": config.cluster.nodeID = try v.string("cluster.node_id")
                    case "advertise_url": config.cluster.advertiseURL = try v.string("cluster.advertise_url")
                    case "edge_relay": config.cluster.edgeRelay = try v.bool("cluster.edge_relay")
                    case "edge_link_host":
                        let host = try v.string("cluster.edge_link_host")
                        guard host.isEmpty || host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy({ UInt8($0) != nil }) else {
                            throw ConfigError(key: "cluster.edge_link_host", line: v.line, "must be an IPv4 address, got \"\(host)\"")
                        }
                        config.cluster.edgeLinkHost = host
                    default: throw v.unknown("cluster.\(k)")
                    }
                }
            default:
                throw value.unknown(key)
            }
        }
        try validate(config)
        return config
    }

    /// Why `sdk` cannot be `webapp.client_sdk`, or nil. A URL must be http(s) with a host (the
    /// pages put it in a <script src>); anything else is a file, which must exist now rather than
    /// turn into a 404 the first time somebody opens a page.
    static func clientSDKProblem(_ sdk: String) -> String? {
        if ServerConfig.WebApp.isURL(sdk) {
            guard let url = URL(string: sdk), let host = url.host, !host.isEmpty else {
                return "'\(sdk)' is not a valid URL"
            }
            return nil
        }
        if sdk.contains("://") || sdk.hasPrefix("//") {
            return "'\(sdk)': only http:// and https:// URLs or a local file path"
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: sdk, isDirectory: &isDirectory) else {
            return "no file at '\(sdk)' (a path to livekit-client's UMD bundle, or an https:// URL)"
        }
        if isDirectory.boolValue { return "'\(sdk)' is a directory, not livekit-client's UMD bundle" }
        guard FileManager.default.isReadableFile(atPath: sdk) else { return "'\(sdk)' is not readable" }
        return nil
    }

    /// Parses LiveKit's `LIVEKIT_KEYS` format: `key: secret` pairs, one per line (or comma-separated).
    public static func parseKeys(_ text: String) throws -> [String: String] {
        var keys: [String: String] = [:]
        for entry in text.split(whereSeparator: { $0 == "\n" || $0 == "," }) {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw ConfigError(key: "LIVEKIT_KEYS", line: nil, "expected 'key: secret', got '\(trimmed)'")
            }
            let key = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
            let secret = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, !secret.isEmpty else {
                throw ConfigError(key: "LIVEKIT_KEYS", line: nil, "expected 'key: secret', got '\(trimmed)'")
            }
            keys[key] = secret
        }
        return keys
    }

    /// `recordings.session_limits`: LiveKit egress's `session_limits` block. Durations as Go
    /// writes them (`90m`, `1h30m`, `45s`) or plain seconds.
    private static func limits(_ value: Value, key: String) throws -> ServerConfig.RecordingLimits {
        var limits = ServerConfig.RecordingLimits()
        for (k, v) in try Mapping(value.node, key: key).entries {
            let path = "\(key).\(k)"
            switch k {
            case "file_output_max_duration": limits.fileOutputMaxSeconds = try v.duration(path)
            case "stream_output_max_duration": limits.streamOutputMaxSeconds = try v.duration(path)
            case "segment_output_max_duration": limits.segmentOutputMaxSeconds = try v.duration(path)
            // Taken so LiveKit's block can be copied as it is; Sluice writes no image outputs.
            case "image_output_max_duration": _ = try v.duration(path)
            case "file_output_max_size":
                let bytes = try v.int(path)
                guard bytes >= 0 else { throw ConfigError(key: path, line: v.line, "must not be negative") }
                limits.fileOutputMaxSize = Int64(bytes)
            default: throw v.unknown(path)
            }
        }
        return limits
    }

    /// `recordings.s3`: the key names of LiveKit egress's `s3:` block, plus how uploads are split
    /// and retried. Recordings whose request names no upload go to this bucket.
    private static func s3(_ value: Value, key: String) throws -> ServerConfig.S3 {
        var s3 = ServerConfig.S3()
        for (k, v) in try Mapping(value.node, key: key).entries {
            let path = "\(key).\(k)"
            switch k {
            case "access_key": s3.accessKey = try v.nonEmptyString(path)
            case "secret": s3.secret = try v.nonEmptyString(path)
            case "session_token": s3.sessionToken = try v.string(path)
            case "region": s3.region = try v.nonEmptyString(path)
            case "endpoint":
                let endpoint = try v.string(path)
                guard endpoint.isEmpty || ((endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://"))
                                           && URLComponents(string: endpoint)?.host?.isEmpty == false) else {
                    throw ConfigError(key: path, line: v.line, "expected an http:// or https:// URL, got '\(endpoint)'")
                }
                s3.endpoint = endpoint
            case "bucket": s3.bucket = try v.nonEmptyString(path)
            case "force_path_style": s3.forcePathStyle = try v.bool(path)
            case "max_retries":
                s3.maxRetries = try v.int(path)
                guard s3.maxRetries >= 0 else { throw ConfigError(key: path, line: v.line, "must not be negative") }
            case "part_size", "multipart_threshold":
                let bytes = try v.int(path)
                guard bytes > 0 else { throw ConfigError(key: path, line: v.line, "must be a positive number of bytes") }
                if k == "part_size" { s3.partSize = Int64(bytes) } else { s3.multipartThreshold = Int64(bytes) }
            default: throw v.unknown(path)
            }
        }
        for (name, present) in [("bucket", !s3.bucket.isEmpty), ("access_key", !s3.accessKey.isEmpty),
                                ("secret", !s3.secret.isEmpty)] where !present {
            throw ConfigError(key: "\(key).\(name)", line: value.line, "is required when \(key) is set")
        }
        return s3
    }

    /// `rtc.turn_servers`: a list of LiveKit's TURN server entries.
    private static func turnServers(_ value: Value, key: String) throws -> [ServerConfig.TURNServer] {
        guard case .sequence(let items) = value.node else {
            throw ConfigError(key: key, line: value.line, "expected a list of TURN servers")
        }
        return try items.enumerated().map { index, item in
            let prefix = "\(key)[\(index)]"
            var server = ServerConfig.TURNServer()
            for (k, v) in try Mapping(item, key: prefix).entries {
                let path = "\(prefix).\(k)"
                switch k {
                case "host": server.host = try v.nonEmptyString(path)
                case "port": server.port = try v.port(path)
                case "protocol":
                    let text = try v.string(path).lowercased()
                    guard let p = ServerConfig.TURNServer.TransportProtocol(rawValue: text) else {
                        throw ConfigError(key: path, line: v.line, "expected udp, tcp or tls, got '\(text)'")
                    }
                    server.transportProtocol = p
                case "username": server.username = try v.string(path)
                case "credential": server.credential = try v.string(path)
                case "secret": server.secret = try v.string(path)
                case "ttl": server.ttl = try v.uint32(path)
                default: throw v.unknown(path)
                }
            }
            let line = Value(node: item).line
            guard !server.host.isEmpty else { throw ConfigError(key: "\(prefix).host", line: line, "is required") }
            guard server.port > 0 else { throw ConfigError(key: "\(prefix).port", line: line, "must not be 0") }
            if server.secret.isEmpty, server.username.isEmpty != server.credential.isEmpty {
                throw ConfigError(key: prefix, line: line, "username and credential go together (or give secret)")
            }
            if !server.secret.isEmpty, !server.username.isEmpty {
                throw ConfigError(key: prefix, line: line, "give either secret (REST credentials) or username/credential, not both")
            }
            if !server.secret.isEmpty, server.ttl == 0 { throw ConfigError(key: "\(prefix).ttl", line: line, "must be at least 1") }
            return server
        }
    }

    /// `turn:`: the TURN server next to Sluice.
    /// LiveKit's `redis:` block (address, username, password, db, use_tls, sentinel_*).
    private static func redis(_ value: Value, key: String) throws -> RedisSettings {
        var redis = RedisSettings()
        for (k, v) in try Mapping(value.node, key: key).entries {
            let path = "\(key).\(k)"
            switch k {
            case "address":
                redis.address = try v.nonEmptyString(path)
                guard RedisSettings.hostPort(redis.address) != nil else {
                    throw ConfigError(key: path, line: v.line, "must be host:port, got \"\(redis.address)\"")
                }
            case "username": redis.username = try v.string(path)
            case "password": redis.password = try v.string(path)
            case "db": redis.db = Int(try v.uint32(path))
            case "use_tls":
                redis.useTLS = try v.bool(path)
                if redis.useTLS {
                    throw ConfigError(key: path, line: v.line, "is not supported: this build's hiredis (Debian's 0.14) has no TLS; "
                                      + "reach Redis over a private network or a TLS tunnel (stunnel, spiped)")
                }
            case "sentinel_master_name": redis.sentinelMasterName = try v.string(path)
            case "sentinel_addresses": redis.sentinelAddresses = try v.strings(path)
            case "sentinel_username": redis.sentinelUsername = try v.string(path)
            case "sentinel_password": redis.sentinelPassword = try v.string(path)
            // LiveKit's cluster-mode keys: Redis Cluster is a different protocol from one server.
            case "cluster_addresses", "max_redirects":
                throw ConfigError(key: path, line: v.line, "Redis Cluster is not supported; give one server (address) or sentinels")
            default: throw v.unknown(path)
            }
        }
        if !redis.sentinelAddresses.isEmpty && redis.sentinelMasterName.isEmpty {
            throw ConfigError(key: "\(key).sentinel_master_name", line: value.line, "is required with sentinel_addresses")
        }
        return redis
    }

    private static func turn(_ value: Value, key: String) throws -> ServerConfig.TURN {
        var turn = ServerConfig.TURN()
        for (k, v) in try Mapping(value.node, key: key).entries {
            let path = "\(key).\(k)"
            switch k {
            case "enabled": turn.enabled = try v.bool(path)
            case "domain": turn.domain = try v.string(path)
            case "udp_port": turn.udpPort = try v.port(path)
            case "tls_port": turn.tlsPort = try v.port(path)
            case "external_tls": turn.externalTLS = try v.bool(path)
            case "secret": turn.secret = try v.string(path)
            case "credential_ttl": turn.credentialTTL = try v.uint32(path)
            // LiveKit's embedded server reads these; coturn has its own (see README).
            case "cert_file", "key_file", "relay_range_start", "relay_range_end":
                throw ConfigError(key: path, line: v.line, "belongs in the TURN server's own config (coturn: cert, pkey, "
                                  + "min-port, max-port): Sluice does not run a TURN server itself")
            default: throw v.unknown(path)
            }
        }
        if turn.enabled {
            guard !turn.domain.isEmpty else { throw ConfigError(key: "\(key).domain", line: value.line, "is required when turn.enabled") }
            guard !turn.secret.isEmpty else {
                throw ConfigError(key: "\(key).secret", line: value.line, "is required when turn.enabled (coturn's static-auth-secret)")
            }
            guard turn.udpPort != 0 || turn.tlsPort != 0 || turn.externalTLS else {
                throw ConfigError(key: key, line: value.line, "needs udp_port, tls_port or external_tls")
            }
            guard turn.credentialTTL > 0 else { throw ConfigError(key: "\(key).credential_ttl", line: value.line, "must be at least 1") }
        }
        return turn
    }

    static func validate(_ c: ServerConfig) throws {
        if c.rtc.portRangeStart > c.rtc.portRangeEnd {
            throw ConfigError(key: "rtc.port_range_start", line: nil,
                              "must not exceed rtc.port_range_end (\(c.rtc.portRangeStart) > \(c.rtc.portRangeEnd))")
        }
        // A participant holds two peer connections, one UDP port each: a range of one port
        // admits nobody, and the first join would fail instead of the config.
        if c.rtc.portRangeStart > 0, c.rtc.portRangeEnd - c.rtc.portRangeStart + 1 < 2 {
            throw ConfigError(key: "rtc.port_range_end", line: nil,
                              "the range \(c.rtc.portRangeStart)-\(c.rtc.portRangeEnd) holds fewer than the 2 UDP ports one participant needs")
        }
        // Two listeners on one address would make the second fail to bind at start.
        if c.prometheusPort != 0, c.prometheusPort == c.port {
            throw ConfigError(key: "prometheus_port", line: nil, "must differ from port (\(c.port)): metrics have their own listener")
        }
        // A queue of none would drop every event before its first attempt.
        if c.webhook.queueSize == 0 {
            throw ConfigError(key: "webhook.queue_size", line: nil, "must be at least 1")
        }
        if !c.webhook.apiKey.isEmpty, !c.keys.isEmpty, c.keys[c.webhook.apiKey] == nil {
            throw ConfigError(key: "webhook.api_key", line: nil, "'\(c.webhook.apiKey)' is not one of the configured keys")
        }
    }
}

/// A YAML mapping with string keys, remembering each value's position.
private struct Mapping {
    var entries: [(String, Value)] = []

    init(_ node: Node, key: String) throws {
        guard case .mapping(let mapping) = node else {
            throw ConfigError(key: key, line: node.line, "expected a mapping of keys to values")
        }
        var seen = Set<String>()
        for (k, v) in mapping {
            guard case .scalar(let scalar) = k else {
                throw ConfigError(key: key, line: k.line, "keys must be plain strings")
            }
            let path = key.isEmpty ? scalar.string : "\(key).\(scalar.string)"
            guard seen.insert(scalar.string).inserted else {
                throw ConfigError(key: path, line: k.line, "appears twice")
            }
            entries.append((scalar.string, Value(node: v)))
        }
    }
}

private struct Value {
    var node: Node
    var line: Int? { node.line }

    func unknown(_ key: String) -> ConfigError {
        ConfigError(key: key, line: line, "unknown key")
    }

    func scalar(_ key: String, _ expected: String) throws -> String {
        guard case .scalar(let s) = node else { throw ConfigError(key: key, line: line, "expected \(expected)") }
        return s.string
    }

    func string(_ key: String) throws -> String {
        if case .scalar(let s) = node, s.string == "~" || s.string == "null" { return "" }
        return try scalar(key, "a string")
    }

    func nonEmptyString(_ key: String) throws -> String {
        let s = try string(key)
        guard !s.isEmpty else { throw ConfigError(key: key, line: line, "must not be empty") }
        return s
    }

    func int(_ key: String) throws -> Int {
        let s = try scalar(key, "a whole number")
        guard let v = Int(s) else { throw ConfigError(key: key, line: line, "expected a whole number, got '\(s)'") }
        return v
    }

    /// A Go-style duration (`1h`, `90m`, `1h30m`, `45s`, `500ms`) or a number of seconds.
    func duration(_ key: String) throws -> Double {
        let s = try scalar(key, "a duration")
        if let seconds = Double(s), seconds >= 0 { return seconds }
        var total = 0.0, number = "", rest = Substring(s)
        let units: [(String, Double)] = [("ms", 0.001), ("h", 3600), ("m", 60), ("s", 1)]
        while !rest.isEmpty {
            number = String(rest.prefix { $0.isNumber || $0 == "." })
            rest = rest.dropFirst(number.count)
            guard let value = Double(number), let unit = units.first(where: { rest.hasPrefix($0.0) }) else {
                throw ConfigError(key: key, line: line, "expected a duration such as 90m, 1h30m or 45s, got '\(s)'")
            }
            total += value * unit.1
            rest = rest.dropFirst(unit.0.count)
        }
        return total
    }

    func port(_ key: String) throws -> Int {
        let v = try int(key)
        guard (0...65535).contains(v) else { throw ConfigError(key: key, line: line, "port \(v) is out of range 0-65535") }
        return v
    }

    func uint32(_ key: String) throws -> UInt32 {
        let v = try int(key)
        guard let u = UInt32(exactly: v) else {
            throw ConfigError(key: key, line: line, "expected a non-negative number, got \(v)")
        }
        return u
    }

    func bool(_ key: String) throws -> Bool {
        let s = try scalar(key, "true or false")
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw ConfigError(key: key, line: line, "expected true or false, got '\(s)'")
        }
    }

    func strings(_ key: String) throws -> [String] {
        switch node {
        case .sequence(let seq):
            return try seq.map { item in
                guard case .scalar(let s) = item else { throw ConfigError(key: key, line: item.line, "expected a string") }
                return s.string
            }
        case .scalar(let s):
            return [s.string]
        default:
            throw ConfigError(key: key, line: line, "expected a list of strings")
        }
    }
}

private extension Node {
    /// 1-based line of this node in the YAML text.
    var line: Int? { mark.map { $0.line } }
}
