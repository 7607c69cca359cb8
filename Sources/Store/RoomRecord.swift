/// A room as persisted: enough to bring API-created rooms back after a restart and to keep
/// history of when each room opened and closed. Times are Unix milliseconds.
public struct RoomRecord: Sendable, Equatable {
    public var sid: String
    public var name: String
    public var metadata: String
    public var emptyTimeout: UInt32
    public var departureTimeout: UInt32
    public var maxParticipants: UInt32
    public var createdAtMs: Int64
    public var closedAtMs: Int64?

    public init(sid: String, name: String, metadata: String = "", emptyTimeout: UInt32,
                departureTimeout: UInt32, maxParticipants: UInt32, createdAtMs: Int64,
                closedAtMs: Int64? = nil) {
        self.sid = sid
        self.name = name
        self.metadata = metadata
        self.emptyTimeout = emptyTimeout
        self.departureTimeout = departureTimeout
        self.maxParticipants = maxParticipants
        self.createdAtMs = createdAtMs
        self.closedAtMs = closedAtMs
    }
}
