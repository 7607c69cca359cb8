import ArgumentParser
import Auth
import Foundation
import Logging
import SluiceServer

@main
struct Sluice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "A self-hosted WebRTC SFU that speaks LiveKit's protocols.",
        subcommands: [Serve.self, Token.self, RoomCommand.self, ParticipantCommand.self, EgressCommand.self])
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server.")

    @Option(name: .long, help: "Path to a livekit.yaml-like config file.")
    var config: String?

    @Flag(name: .long, help: "Development mode: API key 'devkey', secret 'secret' unless keys are configured.")
    var dev = false

    @Option(name: .long, help: "HTTP/WebSocket port (overrides the config).")
    var port: Int?

    @Option(name: .long, help: "Address to listen on (repeatable; overrides bind_addresses).")
    var bind: [String] = []

    func run() async throws {
        let resolved: ServerConfig
        do {
            resolved = try ConfigResolver.resolve(file: config, dev: dev, port: port, bind: bind)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("sluice: \(error)\n".utf8))
            throw ExitCode(2)
        }
        LogSetup.bootstrap(level: resolved.logging.level, json: resolved.logging.json)
        let logger = Logger(label: "sluice")
        if dev { logger.warning("development mode: do not expose this server", metadata: ["keys": "\(resolved.keys.keys.sorted())"]) }
        let app: SluiceApplication
        do {
            app = try SluiceApplication(config: resolved, logger: logger)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("sluice: \(error)\n".utf8))
            throw ExitCode(2)
        } catch {
            // The database or a listener's resources could not be had: one line (the log has
            // said what was tried) and exit 1, not ArgumentParser's "Error: " with a Swift dump.
            let line = "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
            logger.critical("cannot start", metadata: ["error": "\(line)"])
            FileHandle.standardError.write(Data("sluice: \(line)\n".utf8))
            throw ExitCode(1)
        }
        try await app.run()
    }
}

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print an access token (like `lk token create`).")

    @Option(name: .long, help: "Room the token is for.")
    var room: String?

    @Option(name: .long, help: "Participant identity.")
    var identity: String?

    @Option(name: .long, help: "Participant display name.")
    var name: String?

    @Option(name: .long, help: "Participant metadata.")
    var metadata: String?

    @Option(name: .long, parsing: .upToNextOption,
            help: "Grants, comma or space separated: join, admin, create, list, record, hidden, recorder, no-publish, no-subscribe, no-publish-data, update-metadata. Default: join.")
    var grants: [String] = ["join"]

    @Option(name: .long, help: "Sources the token may publish: camera,microphone,screen_share,screen_share_audio.")
    var sources: String?

    @Option(name: .long, help: "Validity, e.g. 6h, 30m, 3600s. Default 6h.")
    var validFor: String = "6h"

    @Option(name: .long, help: "API key (default: $LIVEKIT_API_KEY or devkey).")
    var apiKey: String?

    @Option(name: .long, help: "API secret (default: $LIVEKIT_API_SECRET or secret).")
    var apiSecret: String?

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        let key = apiKey ?? env["LIVEKIT_API_KEY"] ?? "devkey"
        let secret = apiSecret ?? env["LIVEKIT_API_SECRET"] ?? "secret"
        guard let seconds = Self.duration(validFor) else {
            throw ValidationError("--valid-for: expected a duration like 6h, 30m or 90s, got '\(validFor)'")
        }
        var grant = VideoGrant()
        let words = grants.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        for word in words where !word.isEmpty {
            switch word {
            case "join": grant.roomJoin = true
            case "admin": grant.roomAdmin = true
            case "create": grant.roomCreate = true
            case "list": grant.roomList = true
            case "record": grant.roomRecord = true
            case "hidden": grant.hidden = true
            case "recorder": grant.recorder = true
            case "no-publish": grant.canPublish = false
            case "no-subscribe": grant.canSubscribe = false
            case "no-publish-data": grant.canPublishData = false
            case "update-metadata": grant.canUpdateOwnMetadata = true
            default: throw ValidationError("--grants: unknown grant '\(word)'")
            }
        }
        if let room { grant.room = room }
        if grant.roomJoin == true {
            guard room != nil, identity != nil else { throw ValidationError("a join token needs --room and --identity") }
        }
        if let sources {
            grant.canPublishSources = sources.split(separator: ",").map { String($0) }
        }
        let now = Date().timeIntervalSince1970.rounded(.down)
        let claims = AccessTokenClaims(apiKey: key, identity: identity, notBefore: now, expires: now + seconds,
                                       name: name, metadata: metadata, video: grant)
        print(try AccessToken.sign(claims, secret: secret))
    }

    static func duration(_ text: String) -> Double? {
        guard let unit = text.last else { return nil }
        let multipliers: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let m = multipliers[unit], let v = Double(text.dropLast()), v > 0 { return v * m }
        if let v = Double(text), v > 0 { return v }
        return nil
    }
}
