import LiveKitProto

/// The state a newly joined participant is told about in its JoinResponse.
public struct JoinOutcome: Sendable {
    public var room: Livekit_Room
    public var participant: Livekit_ParticipantInfo
    public var otherParticipants: [Livekit_ParticipantInfo]
}
