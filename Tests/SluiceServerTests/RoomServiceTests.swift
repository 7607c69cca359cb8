import Auth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LiveKitProto
import Logging
import NIOCore
import SwiftProtobuf
import Testing
@testable import SluiceServer

/// Drives the RoomService Twirp routes in-process, with both protobuf and JSON bodies.
@Suite struct RoomServiceTests {
    static func makeApp() throws -> SluiceApplication {
        var config = ServerConfig()
        config.keys = ["devkey": "secret"]
        config.storagePath = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-api-\(UUID().uuidString).sqlite").path
        return try SluiceApplication(config: config, logger: Logger(label: "test"))
    }

    static func token(_ grant: VideoGrant, secret: String = "secret", exp: Double? = nil) throws -> String {
        let now = Date().timeIntervalSince1970
        return try AccessToken.sign(
            AccessTokenClaims(apiKey: "devkey", identity: "api", notBefore: now - 10, expires: exp ?? now + 600,
                              video: grant), secret: secret)
    }

    static let admin = VideoGrant(roomCreate: true, roomList: true, roomAdmin: true, room: "shop")

    func call(_ client: some TestClientProtocol, _ method: String, token: String?, contentType: String,
              body: [UInt8]) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: contentType]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: "/twirp/livekit.RoomService/\(method)", method: .post,
                                        headers: headers, body: ByteBuffer(bytes: body))
    }

    func proto<M: SwiftProtobuf.Message>(_ response: TestResponse, as: M.Type) throws -> M {
        try M(serializedBytes: Array(buffer: response.body))
    }

    @Test func healthCheck() async throws {
        let app = Application(router: try Self.makeApp().makeRouter())
        try await app.test(.router) { client in
            let r = try await client.execute(uri: "/", method: .get)
            #expect(r.status == .ok)
            #expect(String(buffer: r.body) == "OK")
        }
    }

    @Test func protobufLifecycle() async throws {
        let app = Application(router: try Self.makeApp().makeRouter())
        let token = try Self.token(Self.admin)
        try await app.test(.router) { client in
            var create = Livekit_CreateRoomRequest()
            create.name = "shop"
            create.emptyTimeout = 120
            create.metadata = "m"
            let r1 = try await call(client, "CreateRoom", token: token, contentType: "application/protobuf",
                                    body: try create.serializedBytes())
            #expect(r1.status == .ok)
            #expect(r1.headers[.contentType] == "application/protobuf")
            let room = try proto(r1, as: Livekit_Room.self)
            #expect(room.name == "shop" && room.sid.hasPrefix("RM_") && room.emptyTimeout == 120 && room.metadata == "m")
            #expect(room.creationTime > 0 && room.creationTimeMs / 1000 == room.creationTime)

            let r2 = try await call(client, "ListRooms", token: token, contentType: "application/protobuf",
                                    body: try Livekit_ListRoomsRequest().serializedBytes())
            #expect(try proto(r2, as: Livekit_ListRoomsResponse.self).rooms.map(\.sid) == [room.sid])

            var meta = Livekit_UpdateRoomMetadataRequest()
            meta.room = "shop"
            meta.metadata = "updated"
            let r3 = try await call(client, "UpdateRoomMetadata", token: token, contentType: "application/protobuf",
                                    body: try meta.serializedBytes())
            #expect(try proto(r3, as: Livekit_Room.self).metadata == "updated")

            var list = Livekit_ListParticipantsRequest()
            list.room = "shop"
            let r4 = try await call(client, "ListParticipants", token: token, contentType: "application/protobuf",
                                    body: try list.serializedBytes())
            #expect(r4.status == .ok)
            #expect(try proto(r4, as: Livekit_ListParticipantsResponse.self).participants.isEmpty)

            var del = Livekit_DeleteRoomRequest()
            del.room = "shop"
            let r5 = try await call(client, "DeleteRoom", token: token, contentType: "application/protobuf",
                                    body: try del.serializedBytes())
            #expect(r5.status == .ok)
            let r6 = try await call(client, "DeleteRoom", token: token, contentType: "application/protobuf",
                                    body: try del.serializedBytes())
            #expect(r6.status == .notFound)
        }
    }

    @Test func jsonBodiesUseLiveKitFieldNames() async throws {
        let app = Application(router: try Self.makeApp().makeRouter())
        let token = try Self.token(Self.admin)
        try await app.test(.router) { client in
            let r = try await call(client, "CreateRoom", token: token, contentType: "application/json",
                                   body: Array(#"{"name":"shop","emptyTimeout":42,"maxParticipants":7,"unknownField":1}"#.utf8))
            #expect(r.status == .ok)
            #expect(r.headers[.contentType] == "application/json")
            let json = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
            #expect(json?["name"] as? String == "shop")
            #expect(json?["emptyTimeout"] as? Int == 42)
            #expect(json?["maxParticipants"] as? Int == 7)
            #expect((json?["sid"] as? String)?.hasPrefix("RM_") == true)

            let list = try await call(client, "ListRooms", token: token, contentType: "application/json", body: Array("{}".utf8))
            let rooms = (try JSONSerialization.jsonObject(with: Data(buffer: list.body)) as? [String: Any])?["rooms"] as? [[String: Any]]
            #expect(rooms?.count == 1)
        }
    }

    @Test func authFailuresAre401AndMissingGrantIs403() async throws {
        let app = Application(router: try Self.makeApp().makeRouter())
        let body = Array(#"{"name":"shop"}"#.utf8)
        let badTokens: [String?] = [
            nil, "garbage", try Self.token(Self.admin, secret: "wrong"),
            try Self.token(Self.admin, exp: Date().timeIntervalSince1970 - 3600),
        ]
        try await app.test(.router) { client in
            for token in badTokens {
                let r = try await call(client, "CreateRoom", token: token, contentType: "application/json", body: body)
                #expect(r.status == .unauthorized)
                let json = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
                #expect(json?["code"] as? String == "unauthenticated")
                #expect((json?["msg"] as? String)?.isEmpty == false)
            }
            let listOnly = try Self.token(VideoGrant(roomList: true))
            let r = try await call(client, "CreateRoom", token: listOnly, contentType: "application/json", body: body)
            #expect(r.status == .forbidden)
            let wrongRoom = try Self.token(VideoGrant(roomCreate: true, roomAdmin: true, room: "other"))
            _ = try await call(client, "CreateRoom", token: wrongRoom, contentType: "application/json", body: body)
            let meta = try await call(client, "UpdateRoomMetadata", token: wrongRoom, contentType: "application/json",
                                      body: Array(#"{"room":"shop","metadata":"x"}"#.utf8))
            #expect(meta.status == .forbidden)
        }
    }

    @Test func garbageBodiesAre400AndServerCarriesOn() async throws {
        let app = Application(router: try Self.makeApp().makeRouter())
        let token = try Self.token(Self.admin)
        try await app.test(.router) { client in
            let pb = try await call(client, "CreateRoom", token: token, contentType: "application/protobuf",
                                    body: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01])
            #expect(pb.status == .badRequest)
            let json = try await call(client, "CreateRoom", token: token, contentType: "application/json",
                                      body: Array("{not json".utf8))
            #expect(json.status == .badRequest)
            let wrongType = try await call(client, "CreateRoom", token: token, contentType: "application/json",
                                           body: Array(#"{"name": 5}"#.utf8))
            #expect(wrongType.status == .badRequest)
            let emptyName = try await call(client, "CreateRoom", token: token, contentType: "application/json",
                                           body: Array(#"{"name": ""}"#.utf8))
            #expect(emptyName.status == .badRequest)
            let unknown = try await call(client, "Frobnicate", token: token, contentType: "application/json", body: [])
            #expect(unknown.status == .notFound)
            let ok = try await call(client, "CreateRoom", token: token, contentType: "application/json",
                                    body: Array(#"{"name":"shop"}"#.utf8))
            #expect(ok.status == .ok)
        }
    }
}

/// Internal failures reach API clients as "internal error" only; the detail stays in the log.
@Suite struct TwirpInternalErrorTests {
    @Test func internalDetailIsNotSent() async throws {
        var router = TwirpRouter(service: "livekit.RoomService")
        router.register("ListRooms", Livekit_ListRoomsRequest.self) { _, _ -> Livekit_ListRoomsResponse in
            throw TwirpError(.internalError, "SQLite error 19: UNIQUE constraint failed: room.name - while executing `INSERT`")
        }
        router.register("DeleteRoom", Livekit_DeleteRoomRequest.self) { _, _ -> Livekit_DeleteRoomResponse in
            throw CocoaError(.fileWriteOutOfSpace)
        }
        let twirp = router
        let tokens = AccessToken(keys: ["devkey": "secret"])
        let http = Router()
        http.post("/twirp/livekit.RoomService/:method") { request, context in
            await twirp.respond(to: request, method: context.parameters.get("method") ?? "", tokens: tokens,
                                logger: Logger(label: "t"))
        }
        let token = try RoomServiceTests.token(RoomServiceTests.admin)
        try await Application(router: http).test(.router) { client in
            for method in ["ListRooms", "DeleteRoom"] {
                let response = try await client.execute(
                    uri: "/twirp/livekit.RoomService/\(method)", method: .post,
                    headers: [.contentType: "application/json", .authorization: "Bearer \(token)"],
                    body: ByteBuffer(string: "{}"))
                let body = String(buffer: response.body)
                #expect(response.status == .internalServerError)
                #expect(body.contains("\"msg\":\"internal error\""), "\(body)")
                #expect(!body.contains("SQLite") && !body.contains("Cocoa"))
            }
        }
    }
}
