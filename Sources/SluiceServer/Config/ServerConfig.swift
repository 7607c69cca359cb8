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

    public var port: Int = 7880
    public var bindAddresses: [String] = ["127.0.0.1"]
    public var rtc = RTC()
    /// API key -> secret.
    public var keys: [String: String] = [:]
    public var room = Room()
    public var webhook = Webhook()
    public var logging = Logging()
    public var cors = CORS()
    /// SQLite database file.
    public var storagePath: String = "data/sluice.sqlite"
    /// Directory recordings are written to.
    public var recordingsPath: String = "data/recordings"

    public init() {}

    /// The development keys LiveKit's `--dev` mode uses.
    public static let devKeys = ["devkey": "secret"]
}
