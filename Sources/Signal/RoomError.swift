/// Room-level failures the API maps to LiveKit's Twirp codes.
public enum RoomError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidName(String)
    case notFound(String)
    case participantNotFound(String)
    case trackNotFound(String)
    case storage(String)

    public var description: String {
        switch self {
        case .invalidName(let why): return why
        case .notFound(let name): return "room \(name) not found"
        case .participantNotFound(let identity): return "participant \(identity) not found"
        case .trackNotFound(let sid): return "track \(sid) not found"
        case .storage(let why): return "storage error: \(why)"
        }
    }
}
