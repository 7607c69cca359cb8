/// Room-level failures the API maps to LiveKit's Twirp codes. `description` is what API clients
/// are told; storage failures keep their detail for the log (`detail`).
public enum RoomError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidName(String)
    case notFound(String)
    case participantNotFound(String)
    case trackNotFound(String)
    /// The store failed; the associated text is for the log only.
    case storage(String)

    public var description: String {
        switch self {
        case .invalidName(let why): return why
        case .notFound(let name): return "room \(name) not found"
        case .participantNotFound(let identity): return "participant \(identity) not found"
        case .trackNotFound(let sid): return "track \(sid) not found"
        case .storage: return "internal error: could not save the change, try again"
        }
    }

    public var detail: String {
        switch self {
        case .storage(let why): return "storage error: \(why)"
        default: return description
        }
    }
}
