/// One Redis reply, copied out of hiredis's `redisReply` tree (which is freed at once).
public indirect enum RedisReply: Sendable, Equatable {
    case string([UInt8])
    case status(String)
    case integer(Int64)
    case array([RedisReply])
    case null
    case error(String)

    /// A bulk or status string as text; nil for anything else.
    public var text: String? {
        switch self {
        case .string(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let s): s
        default: nil
        }
    }

    public var bytes: [UInt8]? {
        if case .string(let b) = self { return b }
        return nil
    }

    public var integer: Int64? {
        if case .integer(let i) = self { return i }
        return nil
    }

    public var array: [RedisReply] {
        if case .array(let items) = self { return items }
        return []
    }
}
