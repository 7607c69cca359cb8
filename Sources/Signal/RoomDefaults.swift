/// Defaults applied to rooms when a request leaves a value at zero.
public struct RoomDefaults: Sendable, Equatable {
    public var emptyTimeout: UInt32
    public var departureTimeout: UInt32
    public var maxParticipants: UInt32
    public var autoCreate: Bool

    public init(emptyTimeout: UInt32 = 300, departureTimeout: UInt32 = 20, maxParticipants: UInt32 = 0,
                autoCreate: Bool = true) {
        self.emptyTimeout = emptyTimeout
        self.departureTimeout = departureTimeout
        self.maxParticipants = maxParticipants
        self.autoCreate = autoCreate
    }
}
