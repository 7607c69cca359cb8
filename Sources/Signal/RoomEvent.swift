import LiveKitProto

/// Room lifecycle events, published by `RoomManager` for webhooks and other observers.
public enum RoomEvent: Sendable, Equatable {
    case started(RoomSnapshot)
    case finished(RoomSnapshot)
    case participantJoined(RoomSnapshot, Livekit_ParticipantInfo)
    case participantLeft(RoomSnapshot, Livekit_ParticipantInfo)
    case trackPublished(RoomSnapshot, Livekit_ParticipantInfo, Livekit_TrackInfo)
    case trackUnpublished(RoomSnapshot, Livekit_ParticipantInfo, Livekit_TrackInfo)
}
