import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Redis
import Testing

/// Drives the hiredis wrapper against a real redis-server started for the test (skipped when the
/// machine has none; scripts/deps.sh installs it for CI).
@Suite struct RedisClientTests {
    static let serverPath = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// A redis-server on a free loopback port, stopped when the body ends.
    static func withServer(password: String? = nil, _ body: (Int) async throws -> Void) async throws {
        guard let serverPath else { return }
        let port = Int.random(in: 20000...29999)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: serverPath)
        var arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if let password { arguments += ["--requirepass", password] }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // SIGKILL: the test process's signal mask, which the child inherits, can hold back SIGTERM.
        defer { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try await Task.sleep(for: .milliseconds(300))
        try await body(port)
    }

    @Test func commandsRepliesAndBinaryValues() async throws {
        try await Self.withServer { (port: Int) async throws in
            var settings = RedisSettings()
            settings.address = "127.0.0.1:\(port)"
            let redis = RedisClient(settings: settings)
            defer { redis.stop() }
            #expect(try await redis.command("SET", "k", "v").text == "OK")
            #expect(try await redis.command("GET", "k").text == "v")
            #expect(try await redis.command("GET", "missing") == .null)
            #expect(try await redis.command("INCR", "n").integer == 1)
            let binary: [UInt8] = [0, 255, 13, 10, 0]
            try await redis.command([Array("SET".utf8), Array("b".utf8), binary])
            #expect(try await redis.command("GET", "b").bytes == binary)
            try await redis.command("HSET", "h", "a", "1", "b", "2")
            #expect(try await redis.command("HGETALL", "h").array.count == 4)
            await #expect(throws: RedisError.self) { try await redis.command("NOSUCHCOMMAND") }
            // Still usable after an error reply.
            #expect(try await redis.command("GET", "k").text == "v")
        }
    }

    @Test func passwordAndLostServer() async throws {
        var settings = RedisSettings()
        try await Self.withServer(password: "s3cret") { (port: Int) async throws in
            settings.address = "127.0.0.1:\(port)"
            settings.password = "wrong"
            let refused = RedisClient(settings: settings)
            await #expect(throws: RedisError.self) { try await refused.command("PING") }
            refused.stop()
            settings.password = "s3cret"
            let redis = RedisClient(settings: settings)
            #expect(try await redis.command("PING").text == "PONG")
            redis.stop()
        }
        // Nobody listens any more: a clear error, not a hang or a crash.
        let gone = RedisClient(settings: settings)
        await #expect(throws: RedisError.self) { try await gone.command("PING") }
        gone.stop()
    }
}
