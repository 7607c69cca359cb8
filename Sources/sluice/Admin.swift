import ArgumentParser
import Auth
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LiveKitProto
import SwiftProtobuf

// MARK: - Admin CLI (`sluice room|participant|egress ...`), shaped like LiveKit's `lk`.
//
// Each call mints its own short-lived admin token with only the grants that call needs, and speaks
// Twirp with protobuf bodies to a running server, exactly as LiveKit's server SDKs do: the CLI is
// one more outside client, so it works against LiveKit too.

/// Where and as whom: `lk`'s flags and environment variables.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: "Server URL (default: $LIVEKIT_URL or http://127.0.0.1:7880).")
    var url: String?

    @Option(name: .long, help: "API key (default: $LIVEKIT_API_KEY or devkey).")
    var apiKey: String?

    @Option(name: .long, help: "API secret (default: $LIVEKIT_API_SECRET or secret).")
    var apiSecret: String?

    @Flag(name: .long, help: "Print the server's reply as JSON (protojson) instead of a table.")
    var json = false

    func client() -> AdminClient {
        let env = ProcessInfo.processInfo.environment
        var base = url ?? env["LIVEKIT_URL"] ?? "http://127.0.0.1:7880"
        // `lk` accepts the ws(s):// URL clients use; Twirp is the same host over http(s).
        if base.hasPrefix("ws://") { base = "http://" + base.dropFirst(5) }
        if base.hasPrefix("wss://") { base = "https://" + base.dropFirst(6) }
        while base.hasSuffix("/") { base.removeLast() }
        return AdminClient(base: base, key: apiKey ?? env["LIVEKIT_API_KEY"] ?? "devkey",
                           secret: apiSecret ?? env["LIVEKIT_API_SECRET"] ?? "secret")
    }
}

/// A failure to report as one line on stderr, then exit 1.
struct AdminError: Error {
    let line: String
}

struct AdminClient: Sendable {
    let base: String
    let key: String
    let secret: String

    func call<Req: SwiftProtobuf.Message, Res: SwiftProtobuf.Message>(
        _ service: String, _ method: String, _ request: Req, grant: VideoGrant, as: Res.Type = Res.self
    ) async throws -> Res {
        let now = Date().timeIntervalSince1970.rounded(.down)
        // Ten minutes: long enough for one call, useless soon after if it leaks into a log.
        let claims = AccessTokenClaims(apiKey: key, identity: nil, notBefore: now, expires: now + 600,
                                       name: nil, metadata: nil, video: grant)
        let token = try AccessToken.sign(claims, secret: secret)
        guard let url = URL(string: "\(base)/twirp/\(service)/\(method)") else {
            throw AdminError(line: "error: bad server URL \(base)")
        }
        var http = URLRequest(url: url)
        http.httpMethod = "POST"
        http.setValue("application/protobuf", forHTTPHeaderField: "Content-Type")
        http.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        http.httpBody = try request.serializedData()
        http.timeoutInterval = 30
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: http)
        } catch {
            throw AdminError(line: "error: cannot reach \(base): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else {
            // Twirp errors are JSON {"code": ..., "msg": ...} whatever the request's encoding.
            if let body = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let code = body["code"] as? String {
                throw AdminError(line: "error: \(code): \(body["msg"] as? String ?? "")")
            }
            throw AdminError(line: "error: HTTP \(status) from \(url.absoluteString)")
        }
        do {
            return try Res(serializedBytes: Array(data))
        } catch {
            throw AdminError(line: "error: unreadable reply from \(url.absoluteString): \(error)")
        }
    }
}

/// Runs a subcommand body, turning every failure into one stderr line and exit code 1.
func admin(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as AdminError {
        // One line whatever the server or the network library said, so scripts can log it as is.
        let line = error.line.split(whereSeparator: \.isNewline).joined(separator: " ")
        FileHandle.standardError.write(Data((line + "\n").utf8))
        throw ExitCode(1)
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

func printJSON(_ message: some SwiftProtobuf.Message) throws {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true  // the names LiveKit's docs and `lk --json` use
    print(try message.jsonString(options: options))
}

/// Columns padded to their widest cell, two spaces apart, like `lk`'s tables without the boxes.
func printTable(_ header: [String], _ rows: [[String]]) {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    for row in all {
        let cells = row.enumerated().map { i, cell in
            i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}

func formatTime(seconds: Double) -> String {
    guard seconds > 0 else { return "-" }
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd HH:mm:ss"
    return f.string(from: Date(timeIntervalSince1970: seconds))
}

func statusName(_ status: Livekit_EgressStatus) -> String {
    switch status {
    case .egressStarting: return "EGRESS_STARTING"
    case .egressActive: return "EGRESS_ACTIVE"
    case .egressEnding: return "EGRESS_ENDING"
    case .egressComplete: return "EGRESS_COMPLETE"
    case .egressFailed: return "EGRESS_FAILED"
    case .egressAborted: return "EGRESS_ABORTED"
    case .egressLimitReached: return "EGRESS_LIMIT_REACHED"
    case .UNRECOGNIZED(let n): return "UNKNOWN(\(n))"
    }
}

// MARK: - room

struct RoomCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "room", abstract: "List, create and delete rooms on a running server.",
        subcommands: [RoomList.self, RoomCreate.self, RoomDelete.self])
}

func printRooms(_ rooms: [Livekit_Room]) {
    printTable(["NAME", "SID", "PARTICIPANTS", "PUBLISHERS", "CREATED"], rooms.map {
        [$0.name, $0.sid, "\($0.numParticipants)", "\($0.numPublishers)", formatTime(seconds: Double($0.creationTime))]
    })
}

struct RoomList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List rooms.")
    @OptionGroup var server: ServerOptions

    func run() async throws {
        try await admin {
            var grant = VideoGrant()
            grant.roomList = true
            let reply: Livekit_ListRoomsResponse = try await server.client().call(
                "livekit.RoomService", "ListRooms", Livekit_ListRoomsRequest(), grant: grant)
            if server.json { try printJSON(reply) } else { printRooms(reply.rooms) }
        }
    }
}

struct RoomCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a room.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "Room name.") var name: String
    @Option(name: .long, help: "Seconds an empty room is kept.") var emptyTimeout: UInt32?
    @Option(name: .long, help: "Most participants the room admits.") var maxParticipants: UInt32?
    @Option(name: .long, help: "Room metadata.") var metadata: String?

    func run() async throws {
        try await admin {
            var grant = VideoGrant()
            grant.roomCreate = true
            var req = Livekit_CreateRoomRequest()
            req.name = name
            if let emptyTimeout { req.emptyTimeout = emptyTimeout }
            if let maxParticipants { req.maxParticipants = maxParticipants }
            if let metadata { req.metadata = metadata }
            let room: Livekit_Room = try await server.client().call("livekit.RoomService", "CreateRoom", req, grant: grant)
            if server.json { try printJSON(room) } else { printRooms([room]) }
        }
    }
}

struct RoomDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a room, disconnecting everyone in it.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "Room name.") var name: String

    func run() async throws {
        try await admin {
            var grant = VideoGrant()
            grant.roomCreate = true
            var req = Livekit_DeleteRoomRequest()
            req.room = name
            let reply: Livekit_DeleteRoomResponse = try await server.client().call(
                "livekit.RoomService", "DeleteRoom", req, grant: grant)
            if server.json { try printJSON(reply) } else { print("deleted room \(name)") }
        }
    }
}

// MARK: - participant

struct ParticipantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "participant", abstract: "List and remove a room's participants.",
        subcommands: [ParticipantList.self, ParticipantRemove.self])
}

/// RoomService's per-room methods need roomAdmin for that room.
func adminGrant(room: String) -> VideoGrant {
    var grant = VideoGrant()
    grant.roomAdmin = true
    grant.room = room
    return grant
}

struct ParticipantList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List a room's participants.")
    @OptionGroup var server: ServerOptions
    @Option(name: .long, help: "Room name.") var room: String

    func run() async throws {
        try await admin {
            var req = Livekit_ListParticipantsRequest()
            req.room = room
            let reply: Livekit_ListParticipantsResponse = try await server.client().call(
                "livekit.RoomService", "ListParticipants", req, grant: adminGrant(room: room))
            if server.json { try printJSON(reply); return }
            printTable(["IDENTITY", "SID", "STATE", "TRACKS"], reply.participants.map { p in
                let tracks = p.tracks.map { "\($0.sid)(\($0.type == .audio ? "audio" : $0.type == .video ? "video" : "data"))" }
                return [p.identity, p.sid, "\(p.state)".uppercased(), tracks.isEmpty ? "-" : tracks.joined(separator: ",")]
            })
        }
    }
}

struct ParticipantRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Disconnect a participant from a room.")
    @OptionGroup var server: ServerOptions
    @Option(name: .long, help: "Room name.") var room: String
    @Option(name: .long, help: "Participant identity.") var identity: String

    func run() async throws {
        try await admin {
            var req = Livekit_RoomParticipantIdentity()
            req.room = room
            req.identity = identity
            let reply: Livekit_RemoveParticipantResponse = try await server.client().call(
                "livekit.RoomService", "RemoveParticipant", req, grant: adminGrant(room: room))
            if server.json { try printJSON(reply) } else { print("removed \(identity) from room \(room)") }
        }
    }
}

// MARK: - egress

struct EgressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egress", abstract: "List, start and stop recordings.",
        subcommands: [EgressList.self, EgressStart.self, EgressStop.self])
}

func recordGrant() -> VideoGrant {
    var grant = VideoGrant()
    grant.roomRecord = true
    return grant
}

func printEgress(_ items: [Livekit_EgressInfo]) {
    printTable(["EGRESS ID", "ROOM", "STATUS", "STARTED", "FILE"], items.map { e in
        let file = e.fileResults.first?.filename ?? (e.fileResults.isEmpty ? "-" : "")
        return [e.egressID, e.roomName, statusName(e.status), formatTime(seconds: Double(e.startedAt) / 1e9), file]
    })
}

func listEgress(_ client: AdminClient, _ req: Livekit_ListEgressRequest) async throws -> Livekit_ListEgressResponse {
    try await client.call("livekit.Egress", "ListEgress", req, grant: recordGrant())
}

struct EgressList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List recordings.")
    @OptionGroup var server: ServerOptions
    @Option(name: .long, help: "Only this room's.") var room: String?
    @Flag(name: .long, help: "Only those still running.") var active = false

    func run() async throws {
        try await admin {
            var req = Livekit_ListEgressRequest()
            if let room { req.roomName = room }
            req.active = active
            let reply = try await listEgress(server.client(), req)
            if server.json { try printJSON(reply) } else { printEgress(reply.items) }
        }
    }
}

enum EgressKind: String, ExpressibleByArgument, CaseIterable {
    case roomComposite = "room-composite", participant, track
}

struct EgressStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start recording to a file.")
    @OptionGroup var server: ServerOptions
    @Option(name: .long, help: "Room name.") var room: String
    @Option(name: .long, help: "room-composite (default), participant or track.") var type: EgressKind = .roomComposite
    @Option(name: .long, help: "Participant identity (--type participant).") var identity: String?
    @Option(name: .long, help: "Track sid, TR_... (--type track).") var track: String?
    @Option(name: .long, help: "File path, relative to the server's recordings directory; {room_name} etc. expand.")
    var file: String?
    @Option(name: .long, help: "Layout (room composite), e.g. grid, speaker.") var layout: String?

    func validate() throws {
        if type == .participant && identity == nil { throw ValidationError("--type participant needs --identity") }
        if type == .track && track == nil { throw ValidationError("--type track needs --track") }
    }

    func run() async throws {
        try await admin {
            let client = server.client()
            let info: Livekit_EgressInfo
            // Composite and participant recordings take the same encoded file output.
            let encodedFile = Livekit_EncodedFileOutput.with { if let file { $0.filepath = file } }
            switch type {
            case .roomComposite:
                var req = Livekit_RoomCompositeEgressRequest()
                req.roomName = room
                if let layout { req.layout = layout }
                req.fileOutputs = [encodedFile]
                info = try await client.call("livekit.Egress", "StartRoomCompositeEgress", req, grant: recordGrant())
            case .participant:
                var req = Livekit_ParticipantEgressRequest()
                req.roomName = room
                req.identity = identity ?? ""
                req.fileOutputs = [encodedFile]
                info = try await client.call("livekit.Egress", "StartParticipantEgress", req, grant: recordGrant())
            case .track:
                var req = Livekit_TrackEgressRequest()
                req.roomName = room
                req.trackID = track ?? ""
                var out = Livekit_DirectFileOutput()
                if let file { out.filepath = file }
                req.file = out
                info = try await client.call("livekit.Egress", "StartTrackEgress", req, grant: recordGrant())
            }
            if server.json { try printJSON(info) } else { printEgress([info]) }
        }
    }
}

struct EgressStop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop a recording and wait, showing its status, until it is finished.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "Egress id, EG_...") var egressID: String
    @Option(name: .long, help: "Seconds to wait for the file to be finished.") var timeout: Double = 60

    func run() async throws {
        try await admin {
            let client = server.client()
            var req = Livekit_StopEgressRequest()
            req.egressID = egressID
            var info: Livekit_EgressInfo = try await client.call("livekit.Egress", "StopEgress", req, grant: recordGrant())
            // Progress goes to stderr so stdout stays the final table or JSON, for scripts.
            var shown = statusName(info.status)
            FileHandle.standardError.write(Data("\(egressID): \(shown)\n".utf8))
            let deadline = Date().addingTimeInterval(timeout)
            let finished: Set<Livekit_EgressStatus> = [.egressComplete, .egressFailed, .egressAborted, .egressLimitReached]
            while !finished.contains(info.status) {
                guard Date() < deadline else {
                    throw AdminError(line: "error: timeout: \(egressID) still \(shown) after \(String(format: "%g", timeout)) s")
                }
                try await Task.sleep(nanoseconds: 250_000_000)
                var list = Livekit_ListEgressRequest()
                list.egressID = egressID
                guard let now = try await listEgress(client, list).items.first else {
                    throw AdminError(line: "error: not_found: egress \(egressID) disappeared")
                }
                info = now
                if statusName(info.status) != shown {
                    shown = statusName(info.status)
                    FileHandle.standardError.write(Data("\(egressID): \(shown)\n".utf8))
                }
            }
            if server.json { try printJSON(info) } else { printEgress([info]) }
            if info.status != .egressComplete {
                throw AdminError(line: "error: \(statusName(info.status)): \(info.error)")
            }
        }
    }
}
