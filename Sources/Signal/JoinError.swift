/// Why a participant could not join. `status` and `description` are what the client is told
/// (`/rtc/validate`, a refused upgrade, a leave's close frame): short, and never internal detail
/// such as SQL text, which goes to the log instead (`detail`).
public enum JoinError: Error, Equatable, Sendable, CustomStringConvertible {
    case roomNotFound(String)
    case roomFull(String)
    case invalidRoomName(String)
    /// The store failed; the associated text is for the log only.
    case storage(String)
    /// The server is out of something a participant needs (UDP ports, file descriptors);
    /// the associated text says what, in words fit for the client.
    case unavailable(String)
    /// Media could not be set up for another reason; the text is for the log only.
    case mediaSetup(String)

    public var description: String {
        switch self {
        // The JS SDK looks for this exact phrase to decide not to retry.
        case .roomNotFound: return "requested room does not exist"
        case .roomFull: return "room is full: max participants reached"
        case .invalidRoomName(let why): return why
        case .storage: return "internal error: could not save the room, try again"
        case .unavailable(let why): return "server is at capacity: \(why)"
        case .mediaSetup: return "internal error: could not set up media"
        }
    }

    /// What the log gets: the client's reason plus anything withheld from the client.
    public var detail: String {
        switch self {
        case .storage(let why): return "storage error: \(why)"
        case .mediaSetup(let why): return "media setup failed: \(why)"
        default: return description
        }
    }

    public var httpStatus: Int {
        switch self {
        case .roomNotFound: return 404
        case .roomFull: return 403
        case .invalidRoomName: return 400
        case .storage, .mediaSetup: return 500
        // LiveKit answers 503 when a node's limits are reached.
        case .unavailable: return 503
        }
    }
}
