/// Why a participant could not join. `status` and `message` are what `/rtc/validate` answers.
public enum JoinError: Error, Equatable, Sendable, CustomStringConvertible {
    case roomNotFound(String)
    case roomFull(String)
    case invalidRoomName(String)
    case storage(String)

    public var description: String {
        switch self {
        // The JS SDK looks for this exact phrase to decide not to retry.
        case .roomNotFound: return "requested room does not exist"
        case .roomFull(let room): return "room \(room) is full"
        case .invalidRoomName(let why): return why
        case .storage(let why): return "storage error: \(why)"
        }
    }

    public var httpStatus: Int {
        switch self {
        case .roomNotFound: return 404
        case .roomFull: return 403
        case .invalidRoomName: return 400
        case .storage: return 500
        }
    }
}
