/// One participant's stay in one room: the history behind "who was in which room when".
public struct ParticipantSessionRecord: Sendable, Equatable {
    public var participantSid: String
    public var roomSid: String
    public var roomName: String
    public var identity: String
    public var name: String
    public var joinedAtMs: Int64
    public var leftAtMs: Int64?
    public var disconnectReason: String?

    public init(participantSid: String, roomSid: String, roomName: String, identity: String,
                name: String = "", joinedAtMs: Int64, leftAtMs: Int64? = nil, disconnectReason: String? = nil) {
        self.participantSid = participantSid
        self.roomSid = roomSid
        self.roomName = roomName
        self.identity = identity
        self.name = name
        self.joinedAtMs = joinedAtMs
        self.leftAtMs = leftAtMs
        self.disconnectReason = disconnectReason
    }
}
