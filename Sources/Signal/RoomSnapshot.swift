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
}
