import Foundation

/// Redis for async Swift: commands are queued to one dedicated thread that owns a blocking
/// hiredis connection, so no NIO event loop or media worker ever waits on Redis.
///
/// The connection is opened on first use and replaced after it breaks (the failing command
/// throws; the next one reconnects), which is all the cluster's periodic writers need: a Redis
/// restart costs them one heartbeat.
public final class RedisClient: @unchecked Sendable {
    private let settings: RedisSettings
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []  // guarded by condition
    private var stopped = false  // guarded by condition
    /// Touched on the client's thread only.
    private var connection: RedisConnection?

    public init(settings: RedisSettings, name: String = "sluice-redis") {
        self.settings = settings
        let thread = Thread { [unowned self] in self.runJobs() }
        thread.name = name
        thread.start()
    }

    /// Ends the thread after the queued commands.
    public func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    /// Runs one command; a Redis error reply is thrown as `RedisError`.
    @discardableResult
    public func command(_ arguments: String...) async throws -> RedisReply {
        try await command(arguments.map { Array($0.utf8) })
    }

    @discardableResult
    public func command(_ arguments: [String]) async throws -> RedisReply {
        try await command(arguments.map { Array($0.utf8) })
    }

    @discardableResult
    public func command(_ arguments: [[UInt8]]) async throws -> RedisReply {
        let reply: Result<RedisReply, RedisError> = await withCheckedContinuation { continuation in
            enqueue { continuation.resume(returning: self.perform(arguments)) }
        }
        switch reply {
        case .success(.error(let message)): throw RedisError(message)
        case .success(let reply): return reply
        case .failure(let error): throw error
        }
    }

    private func enqueue(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func runJobs() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty && stopped {
                condition.unlock()
                connection = nil
                return
            }
            let batch = jobs
            jobs.removeAll()
            condition.unlock()
            for job in batch { job() }
        }
    }

    /// On the client's thread.
    private func perform(_ arguments: [[UInt8]]) -> Result<RedisReply, RedisError> {
        do throws(RedisError) {
            let connection = try connected()
            let reply = try connection.command(arguments)
            if connection.isBroken { self.connection = nil }
            return .success(reply)
        } catch {
            connection = nil
            return .failure(error)
        }
    }

    private func connected() throws(RedisError) -> RedisConnection {
        if let connection, !connection.isBroken { return connection }
        connection = nil
        let (host, port) = try masterAddress()
        let fresh = try RedisConnection(host: host, port: port)
        if !settings.password.isEmpty {
            let auth = settings.username.isEmpty ? ["AUTH", settings.password] : ["AUTH", settings.username, settings.password]
            if case .error(let why) = try fresh.command(auth.map { Array($0.utf8) }) {
                throw RedisError("Redis refused AUTH: \(why)")
            }
        }
        if settings.db != 0, case .error(let why) = try fresh.command([Array("SELECT".utf8), Array("\(settings.db)".utf8)]) {
            throw RedisError("Redis refused SELECT \(settings.db): \(why)")
        }
        connection = fresh
        return fresh
    }

    /// The server to use: `address`, or the master the first answering sentinel names.
    private func masterAddress() throws(RedisError) -> (String, Int) {
        guard !settings.sentinelAddresses.isEmpty else {
            guard let hp = RedisSettings.hostPort(settings.address) else { throw RedisError("bad redis.address \(settings.address)") }
            return hp
        }
        var failures: [String] = []
        for sentinel in settings.sentinelAddresses {
            guard let (host, port) = RedisSettings.hostPort(sentinel, defaultPort: 26379) else { continue }
            do throws(RedisError) {
                let connection = try RedisConnection(host: host, port: port)
                if !settings.sentinelPassword.isEmpty {
                    let auth = settings.sentinelUsername.isEmpty ? ["AUTH", settings.sentinelPassword]
                        : ["AUTH", settings.sentinelUsername, settings.sentinelPassword]
                    _ = try connection.command(auth.map { Array($0.utf8) })
                }
                let reply = try connection.command(["SENTINEL", "get-master-addr-by-name", settings.sentinelMasterName].map { Array($0.utf8) })
                let parts = reply.array.compactMap(\.text)
                if parts.count == 2, let port = Int(parts[1]) { return (parts[0], port) }
                failures.append("\(sentinel): no master named \(settings.sentinelMasterName)")
            } catch {
                failures.append("\(sentinel): \(error)")
            }
        }
        throw RedisError("no sentinel named a master: \(failures.joined(separator: "; "))")
    }
}
