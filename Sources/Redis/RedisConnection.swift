import CHiredis
#if canImport(Glibc)
import Glibc
#endif

/// Why a Redis call failed: no connection, a lost one, or Redis's own error reply.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One blocking hiredis connection. Owns its `redisContext` (freed on deinit). Not thread-safe:
/// `RedisClient` uses it from its one thread only.
final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects with a timeout that also bounds every later command (a dead Redis must not hold
    /// the cluster thread forever).
    init(host: String, port: Int, timeoutSeconds: Int = 2) throws(RedisError) {
        let tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        guard let context = redisConnectWithTimeout(host, Int32(port), tv) else {
            throw RedisError("cannot allocate a Redis context")
        }
        if context.pointee.err != 0 {
            let why = Self.contextError(context)
            redisFree(context)
            throw RedisError("cannot connect to Redis at \(host):\(port): \(why)")
        }
        _ = redisSetTimeout(context, tv)
        _ = redisEnableKeepAlive(context)
        self.context = context
    }

    deinit { redisFree(context) }

    /// Whether the connection broke (an I/O or protocol error): it must then be replaced.
    var isBroken: Bool { context.pointee.err != 0 }

    /// Sends one command (binary-safe arguments) and waits for its reply.
    func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        // hiredis copies the arguments into its output buffer before returning.
        let raw: UnsafeMutableRawPointer? = Self.withCStrings(arguments) { argv, lens in
            UnsafeMutableRawPointer(chiredis_command_argv(context, Int32(arguments.count), argv, lens))
        }
        guard let raw else { throw RedisError("Redis connection lost: \(Self.contextError(context))") }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return Self.copy(reply)
    }

    private static func withCStrings<R>(_ arguments: [[UInt8]],
                                        _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R) -> R {
        // One buffer holds every argument back to back; argv points into it.
        let total = arguments.reduce(0) { $0 + $1.count }
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, total))
        defer { storage.deallocate() }
        let argv = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(1, arguments.count))
        defer { argv.deallocate() }
        var lens = [Int](repeating: 0, count: arguments.count)
        var offset = 0
        for (index, argument) in arguments.enumerated() {
            argument.withUnsafeBufferPointer { bytes in
                if let base = bytes.baseAddress {
                    UnsafeMutableRawPointer(storage + offset).copyMemory(from: base, byteCount: bytes.count)
                }
            }
            argv[index] = UnsafePointer(storage + offset)
            lens[index] = argument.count
            offset += argument.count
        }
        return lens.withUnsafeBufferPointer { body(argv, $0.baseAddress!) }
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let r = reply.pointee
        func string() -> [UInt8] {
            guard let str = r.str, r.len > 0 else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: Int(r.len)))
        }
        switch r.type {
        case REDIS_REPLY_STRING: return .string(string())
        case REDIS_REPLY_STATUS: return .status(String(decoding: string(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: string(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(r.integer)
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            items.reserveCapacity(Int(r.elements))
            for i in 0..<Int(r.elements) {
                if let element = r.element[i] { items.append(copy(element)) } else { items.append(.null) }
            }
            return .array(items)
        default: return .null
        }
    }

    private static func contextError(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
