import Redis

/// Sluice's configuration, shaped like livekit.yaml where the two overlap.
///
/// Every field has an embedded default so `sluice serve --dev` runs with no file at all.
public struct ServerConfig: Sendable, Equatable {
    public struct RTC: Sendable, Equatable {
        public var portRangeStart: Int = 50000
        public var portRangeEnd: Int = 60000
        /// Address announced in ICE candidates; empty means the bind address.
        public var nodeIP: String = ""
        public var useExternalIP: Bool = false
        /// Serve `/rtc/v1` (one peer connection per participant, livekit-client 2.17+ and the
        /// Rust SDK). Off: `/rtc/v1` answers 404 and those clients fall back to `/rtc`.
        public var singlePeerConnection: Bool = true
        /// Media worker threads (each runs its rooms' packets on one core); 0: one per core.
        public var mediaWorkers: Int = 0
        /// Members a room has before later LiveKit joiners go to other workers (one room's
        /// fan-out on every core; tracks are relayed between the workers); 0: never.
        public var spreadRoomsAfter: Int = 50
        /// ICE-TCP (RFC 6544): passive TCP candidates besides UDP, for clients whose UDP is
        /// blocked. Each peer connection listens on its own TCP port from `port_range_*` (libnice
        /// cannot share one listening port between agents, so LiveKit's single `tcp_port` is not
        /// offered).
        public var iceTCP: Bool = false
        /// External TURN servers given to clients.
        public var turnServers: [TURNServer] = []
        public init() {}
    }

    public struct Room: Sendable, Equatable {
        /// Seconds a room with nobody in it stays open (LiveKit's default: 5 minutes).
        public var emptyTimeout: UInt32 = 300
        /// Seconds a room stays open after its last participant left (LiveKit's default: 20 s).
        public var departureTimeout: UInt32 = 20
        /// 0 means unlimited.
        public var maxParticipants: UInt32 = 0
        public var autoCreate: Bool = true
        public init() {}
    }

    public struct Webhook: Sendable, Equatable {
        /// The API key whose secret signs webhook requests; defaults to the only key, if one.
        public var apiKey: String = ""
        public var urls: [String] = []
        /// Events waiting per URL while it is slow or down; beyond this the oldest is dropped.
        public var queueSize: UInt32 = 1000
        /// Seconds a failed event keeps being retried (with backoff) before it is dropped.
        public var retrySeconds: UInt32 = 300
        public init() {}
    }

    public struct Shutdown: Sendable, Equatable {
        /// Seconds a SIGTERM waits for rooms to empty while refusing new rooms and joins;
        /// 0 (the default) stops at once, as SIGINT always does.
        public var drainTimeout: UInt32 = 0
        public init() {}
    }

    public struct Logging: Sendable, Equatable {
        public var level: String = "info"
        public var json: Bool = false
        public init() {}
    }

    /// Which web origins may read the server's HTTP answers (Sluice's own key; LiveKit allows
    /// every origin, with no setting).
    public struct CORS: Sendable, Equatable {
        /// `*` (any), exact origins, or origins with one `*` wildcard; empty allows none.
        public var allowedOrigins: [String] = ["*"]
        public init() {}
    }

    /// The demo web app at `/app/` (a broadcaster and a player page; Sluice's own key).
    public struct WebApp: Sendable, Equatable {
        /// nil: the file does not say, and `--dev` turns the app on; false keeps it off even then.
        public var enabled: Bool? = nil
        /// livekit-client's UMD bundle: an http(s) URL the pages load it from, or a local file
        /// Sluice serves itself at `/app/livekit-client.umd.js` (for machines without a CDN).
        public var clientSDK: String = WebApp.defaultClientSDK
        /// Serve the token endpoint (`/app/api/token`) outside `--dev` as well. It mints join and
        /// recording tokens for anyone who asks, so it is off unless asked for.
        public var allowDevTokens: Bool = false
        public init() {}

        /// The release the pages are written against (2.15.x connects through `/rtc`, as Sluice
        /// serves it), from the npm CDN: `--dev` works with no bundle on disk.
        public static let defaultClientSDK = "https://cdn.jsdelivr.net/npm/livekit-client@2.15.15/dist/livekit-client.umd.js"

        public var isEnabled: Bool { enabled ?? false }

        /// Whether `clientSDK` is loaded by the browser from elsewhere rather than served by Sluice.
        public var clientSDKIsURL: Bool { Self.isURL(clientSDK) }

        static func isURL(_ s: String) -> Bool {
            let lower = s.lowercased()
            return lower.hasPrefix("http://") || lower.hasPrefix("https://")
        }
    }

    public var port: Int = 7880
    /// LiveKit's `prometheus_port`: a separate HTTP listener serving /metrics on the bind
    /// addresses. 0 (the default) means no metrics listener.
    public var prometheusPort: Int = 0
    public var bindAddresses: [String] = ["127.0.0.1"]
    public var rtc = RTC()
    public var turn = TURN()
    /// API key -> secret.
    public var keys: [String: String] = [:]
    public var room = Room()
    public var webhook = Webhook()
    public var logging = Logging()
    public var shutdown = Shutdown()
    public var cors = CORS()
    public var webapp = WebApp()
    /// `sluice serve --dev`: development keys, the web app on, and its token endpoint served.
    public var devMode = false
    /// SQLite database file.
    public var storagePath: String = "data/sluice.sqlite"
    /// Directory recordings are written to.
    public var recordingsPath: String = "data/recordings"
    /// `recordings.s3`: where recordings go when a request names no upload (nil: they stay local).
    public var recordingsS3: S3?
    /// `recordings.session_limits`: LiveKit egress's limits; an egress that reaches one ends
    /// EGRESS_LIMIT_REACHED with what it recorded so far.
    public var recordingLimits = RecordingLimits()
    /// `redis:`: the cluster's shared state. nil (no block): a single node, as before.
    public var redis: RedisSettings?
    /// `cluster:`: how this node names and advertises itself to the others (used with `redis`).
    public var cluster = Cluster()

    /// Sluice's own keys for a node of a cluster (LiveKit derives both from the machine).
    public struct Cluster: Sendable, Equatable {
        /// This node's id in the registry; empty: a random `ND_…` at each start.
        public var nodeID = ""
        /// The base URL other nodes reach this node's signalling and API at (`http://10.0.0.5:7880`);
        /// empty: `http://<rtc.node_ip or the first bind address>:<port>`.
        public var advertiseURL = ""
        /// Edge relay: a viewer (a token that cannot publish) connecting to this node for a room
        /// that lives on another node is served here, from one copy of the room's tracks relayed
        /// over an edge link; false: its signalling is relayed to the room's node, as for publishers.
        public var edgeRelay = true
        /// The IPv4 address this node's edge links bind and advertise (in its registry entry);
        /// empty: `rtc.node_ip`, else the first IPv4 bind address, else 127.0.0.1.
        public var edgeLinkHost = ""
        public init() {}
    }

    /// Seconds (0: no limit) and bytes, with LiveKit egress's `session_limits` key names.
    public struct RecordingLimits: Sendable, Equatable {
        public var fileOutputMaxSeconds: Double = 0
        /// Bytes of a file output (0: no limit).
        public var fileOutputMaxSize: Int64 = 0
        public var streamOutputMaxSeconds: Double = 0
        public var segmentOutputMaxSeconds: Double = 0
        public init() {}
    }

    /// An S3-compatible bucket, with LiveKit egress's `s3:` key names. `secret` is never logged.
    public struct S3: Sendable, Equatable {
        public var accessKey = ""
        public var secret = ""
        public var sessionToken = ""
        public var region = "us-east-1"
        public var endpoint = ""
        public var bucket = ""
        public var forcePathStyle = false
        public var maxRetries = 3
        /// Files larger than this are uploaded in parts of `part_size` bytes.
        public var multipartThreshold: Int64 = 16 << 20
        /// S3 needs at least 5 MiB for every part but the last.
        public var partSize: Int64 = 8 << 20
        public init() {}
    }

    public init() {}

    /// Whether `/app/api/token` exists: the app is on and either the server runs with `--dev`
    /// or the config explicitly allows unauthenticated token minting.
    public var webAppTokensServed: Bool { webapp.isEnabled && (devMode || webapp.allowDevTokens) }

    /// The development keys LiveKit's `--dev` mode uses.
    public static let devKeys = ["devkey": "secret"]
}
