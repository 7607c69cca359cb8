import Auth
import LiveKitProto

/// What a participant asks for when joining: identity and grants from its token, options from
/// the `/rtc` query.
public struct JoinParameters: Sendable {
    public var identity: String
    public var name: String
    public var metadata: String
    public var attributes: [String: String]
    public var grant: VideoGrant
    public var kind: Livekit_ParticipantInfo.Kind
    public var autoSubscribe: Bool
    /// Signalling protocol version the client speaks (`protocol` query parameter).
    public var protocolVersion: Int32

    public init(identity: String, name: String = "", metadata: String = "", attributes: [String: String] = [:],
                grant: VideoGrant, kind: Livekit_ParticipantInfo.Kind = .standard, autoSubscribe: Bool = true,
                protocolVersion: Int32 = 0) {
        self.identity = identity
        self.name = name
        self.metadata = metadata
        self.attributes = attributes
        self.grant = grant
        self.kind = kind
        self.autoSubscribe = autoSubscribe
        self.protocolVersion = protocolVersion
    }

    /// LiveKit's participant permission derived from the token's video grant.
    public var permission: Livekit_ParticipantPermission {
        var p = Livekit_ParticipantPermission()
        p.canSubscribe = grant.maySubscribe
        p.canPublish = grant.mayPublish
        p.canPublishData = grant.mayPublishData
        p.canPublishSources = (grant.canPublishSources ?? []).compactMap(TrackSourceName.source(named:))
        p.hidden = grant.isHidden
        p.recorder = grant.isRecorder
        p.canUpdateMetadata = grant.canUpdateOwnMetadata ?? false
        return p
    }
}

/// The token spelling of track sources ("camera", "screen_share", ...).
public enum TrackSourceName {
    public static func source(named name: String) -> Livekit_TrackSource? {
        switch name.lowercased() {
        case "camera": return .camera
        case "microphone": return .microphone
        case "screen_share": return .screenShare
        case "screen_share_audio": return .screenShareAudio
        default: return nil
        }
    }
}
