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

    public var port: Int = 7880
    /// LiveKit's `prometheus_port`: a separate HTTP listener serving /metrics on the bind
    /// addresses. 0 (the default) means no metrics listener.
    public var prometheusPort: Int = 0
    public var bindAddresses: [String] = ["127.0.0.1"]
    public var rtc = RTC()
    /// API key -> secret.
    public var keys: [String: String] = [:]
    public var room = Room()
    public var webhook = Webhook()
    public var logging = Logging()
    public var shutdown = Shutdown()
    /// SQLite database file.
    public var storagePath: String = "data/sluice.sqlite"
    /// Directory recordings are written to.
    public var recordingsPath: String = "data/recordings"
    /// `recordings.s3`: where recordings go when a request names no upload (nil: they stay local).
    public var recordingsS3: S3?

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

    /// The development keys LiveKit's `--dev` mode uses.
    public static let devKeys = ["devkey": "secret"]
}
