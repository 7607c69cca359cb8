/// Room lifecycle events, published by `RoomManager` for webhooks and other observers.
public enum RoomEvent: Sendable, Equatable {
    case started(RoomSnapshot)
    case finished(RoomSnapshot)
}
