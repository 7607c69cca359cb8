import Auth
import Foundation
import LiveKitProto

/// The ICE (TURN) servers a client is told about, with its own credentials: built per client from
/// `turn:` and `rtc.turn_servers`, for the JoinResponse's `ice_servers` and for WHIP/WHEP `Link`
/// headers. REST-secret servers get a credential signed for this identity that expires after the
/// configured TTL; static ones are passed on as written.
struct ICEServerDirectory: Sendable {
    /// One server entry: its URLs share the credential.
    struct Entry: Sendable, Equatable {
        var urls: [String]
        var username: String
        var credential: String
    }

    let turn: ServerConfig.TURN
    let external: [ServerConfig.TURNServer]

    init(config: ServerConfig) {
        turn = config.turn
        external = config.rtc.turnServers
    }

    var isEmpty: Bool { !turn.enabled && external.isEmpty }

    func entries(for identity: String, now: Date = Date()) -> [Entry] {
        var result: [Entry] = []
        if turn.enabled {
            var urls: [String] = []
            if turn.udpPort > 0 {
                // coturn's listening-port takes TURN over UDP and over plain TCP alike.
                urls.append("turn:\(Self.host(turn.domain)):\(turn.udpPort)?transport=udp")
                urls.append("turn:\(Self.host(turn.domain)):\(turn.udpPort)?transport=tcp")
            }
            if turn.externalTLS {
                urls.append("turns:\(Self.host(turn.domain)):443?transport=tcp")
            } else if turn.tlsPort > 0 {
                urls.append("turns:\(Self.host(turn.domain)):\(turn.tlsPort)?transport=tcp")
            }
            let c = TURNRESTCredential(secret: turn.secret, identity: identity, ttl: turn.credentialTTL, now: now)
            result.append(Entry(urls: urls, username: c.username, credential: c.credential))
        }
        for server in external {
            let url = switch server.transportProtocol {
            case .udp: "turn:\(Self.host(server.host)):\(server.port)?transport=udp"
            case .tcp: "turn:\(Self.host(server.host)):\(server.port)?transport=tcp"
            case .tls: "turns:\(Self.host(server.host)):\(server.port)?transport=tcp"
            }
            if server.secret.isEmpty {
                result.append(Entry(urls: [url], username: server.username, credential: server.credential))
            } else {
                let c = TURNRESTCredential(secret: server.secret, identity: identity, ttl: server.ttl, now: now)
                result.append(Entry(urls: [url], username: c.username, credential: c.credential))
            }
        }
        return result
    }

    /// As the JoinResponse (and ReconnectResponse) carry them.
    func livekitServers(for identity: String, now: Date = Date()) -> [Livekit_ICEServer] {
        entries(for: identity, now: now).map { entry in
            Livekit_ICEServer.with {
                $0.urls = entry.urls
                $0.username = entry.username
                $0.credential = entry.credential
            }
        }
    }

    /// RFC 9725 §4.6 `Link` header values, one per URL:
    /// `<turn:host:3478?transport=udp>; rel="ice-server"; username="..."; credential="..."; credential-type="password"`.
    func linkHeaders(for identity: String, now: Date = Date()) -> [String] {
        entries(for: identity, now: now).flatMap { entry in
            entry.urls.map { url in
                var value = "<\(url)>; rel=\"ice-server\""
                if !entry.username.isEmpty {
                    value += "; username=\"\(Self.quoted(entry.username))\"; credential=\"\(Self.quoted(entry.credential))\""
                    value += "; credential-type=\"password\""
                }
                return value
            }
        }
    }

    /// An IPv6 literal goes in brackets in a TURN URI (RFC 7065).
    private static func host(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }

    /// RFC 8288 quoted-string content.
    private static func quoted(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
