import LiveKitProto

/// A read-only copy of a room's state, handed from the `RoomManager` actor to API handlers.
public struct RoomSnapshot: Sendable, Equatable {
    public var sid: String
    public var name: String
    public var metadata: String
    public var emptyTimeout: UInt32
    public var departureTimeout: UInt32
    public var maxParticipants: UInt32
    public var createdAtMs: Int64
    public var numParticipants: UInt32
    public var numPublishers: UInt32
    public var activeRecording: Bool

    /// LiveKit's wire form.
    public var proto: Livekit_Room {
        var room = Livekit_Room()
        room.sid = sid
        room.name = name
        room.metadata = metadata
        room.emptyTimeout = emptyTimeout
        room.departureTimeout = departureTimeout
        room.maxParticipants = maxParticipants
        room.creationTime = createdAtMs / 1000
        room.creationTimeMs = createdAtMs
        room.numParticipants = numParticipants
        room.numPublishers = numPublishers
        room.activeRecording = activeRecording
        return room
    }
}
