/// The `video` claim of a LiveKit access token: what the bearer may do with rooms.
///
/// Field names are LiveKit's JSON keys (camelCase), so tokens minted by LiveKit's SDKs and by
/// `lk token create` decode unchanged. `canPublish`, `canSubscribe` and `canPublishData` are
/// optional because LiveKit treats an absent value as `true`.
public struct VideoGrant: Codable, Sendable, Equatable {
    public var roomCreate: Bool?
    public var roomList: Bool?
    public var roomRecord: Bool?
    public var roomAdmin: Bool?
    public var roomJoin: Bool?
    public var room: String?
    public var canPublish: Bool?
    public var canSubscribe: Bool?
    public var canPublishData: Bool?
    /// "camera", "microphone", "screen_share", "screen_share_audio"; empty or absent means all.
    public var canPublishSources: [String]?
    public var canUpdateOwnMetadata: Bool?
    public var ingressAdmin: Bool?
    public var hidden: Bool?
    public var recorder: Bool?
    public var agent: Bool?

    public init(
        roomCreate: Bool? = nil, roomList: Bool? = nil, roomRecord: Bool? = nil, roomAdmin: Bool? = nil,
        roomJoin: Bool? = nil, room: String? = nil, canPublish: Bool? = nil, canSubscribe: Bool? = nil,
        canPublishData: Bool? = nil, canPublishSources: [String]? = nil, canUpdateOwnMetadata: Bool? = nil,
        ingressAdmin: Bool? = nil, hidden: Bool? = nil, recorder: Bool? = nil, agent: Bool? = nil
    ) {
        self.roomCreate = roomCreate
        self.roomList = roomList
        self.roomRecord = roomRecord
        self.roomAdmin = roomAdmin
        self.roomJoin = roomJoin
        self.room = room
        self.canPublish = canPublish
        self.canSubscribe = canSubscribe
        self.canPublishData = canPublishData
        self.canPublishSources = canPublishSources
        self.canUpdateOwnMetadata = canUpdateOwnMetadata
        self.ingressAdmin = ingressAdmin
        self.hidden = hidden
        self.recorder = recorder
        self.agent = agent
    }

    // Effective values, with LiveKit's defaults applied.
    public var mayCreateRooms: Bool { roomCreate ?? false }
    public var mayListRooms: Bool { roomList ?? false }
    public var mayRecord: Bool { roomRecord ?? false }
    public var mayJoin: Bool { roomJoin ?? false }
    public var mayPublish: Bool { canPublish ?? true }
    public var maySubscribe: Bool { canSubscribe ?? true }
    public var mayPublishData: Bool { canPublishData ?? true }
    public var isHidden: Bool { hidden ?? false }
    public var isRecorder: Bool { recorder ?? false }

    /// True when the grant administers `roomName` (LiveKit requires `roomAdmin` and a matching room).
    public func mayAdminister(room roomName: String) -> Bool {
        (roomAdmin ?? false) && (room ?? "") == roomName
    }
}
