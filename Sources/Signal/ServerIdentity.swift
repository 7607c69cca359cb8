import LiveKitProto

/// What Sluice tells clients about itself in JoinResponse.server_info.
public enum ServerIdentity {
    /// The LiveKit server release whose signalling behaviour Sluice follows; SDKs gate features
    /// on it (the JS SDK refuses servers without a version).
    public static let livekitCompatibleVersion = "1.9.0"
    /// LiveKit's signalling protocol generation we speak.
    public static let protocolVersion: Int32 = 16
    public static let nodeID = "ND_sluice"

    public static var serverInfo: Livekit_ServerInfo {
        Livekit_ServerInfo.with {
            $0.edition = .standard
            $0.version = livekitCompatibleVersion
            $0.protocol = protocolVersion
            $0.nodeID = nodeID
            $0.region = "local"
        }
    }
}
