/// TURN servers handed to clients (JoinResponse `ice_servers`, WHIP/WHEP `Link` headers), shaped
/// like livekit.yaml's `rtc.turn_servers` entries and its `turn:` block.
extension ServerConfig {
    /// One `rtc.turn_servers` entry: a TURN server somewhere else.
    public struct TURNServer: Sendable, Equatable {
        public enum TransportProtocol: String, Sendable, Equatable {
            case udp, tcp, tls
        }
        public var host: String = ""
        public var port: Int = 3478
        public var transportProtocol: TransportProtocol = .udp
        /// Static credentials, given to every client as they are.
        public var username: String = ""
        public var credential: String = ""
        /// TURN REST API shared secret (coturn's `static-auth-secret`): each client gets its own
        /// short-lived username and HMAC credential instead of static ones.
        public var secret: String = ""
        /// Seconds a REST credential stays valid.
        public var ttl: UInt32 = ServerConfig.TURN.defaultCredentialTTL
        public init() {}
    }

    /// `turn:`: a TURN server running next to Sluice (coturn, configured with the same secret).
    /// Sluice does not relay itself; it tells clients where this server is and signs their
    /// credentials. LiveKit embeds its own TURN server under the same key names.
    public struct TURN: Sendable, Equatable {
        public static let defaultCredentialTTL: UInt32 = 86400
        public var enabled = false
        /// The name clients reach the TURN server at (and its TLS certificate's name).
        public var domain = ""
        /// TURN over UDP and plain TCP on this port (coturn's `listening-port`); 0: none.
        public var udpPort = 3478
        /// TURN over TLS on this port (coturn's `tls-listening-port`); 0: none.
        public var tlsPort = 0
        /// TLS is terminated in front of the TURN server (a load balancer on 443): clients are
        /// given `turns:<domain>:443` instead of `tls_port`.
        public var externalTLS = false
        /// The shared secret (coturn's `use-auth-secret` + `static-auth-secret`).
        public var secret = ""
        /// Seconds a credential stays valid; an allocation cannot be refreshed past it.
        public var credentialTTL: UInt32 = defaultCredentialTTL
        public init() {}
    }
}
