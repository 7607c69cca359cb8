import Auth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LiveKitProto
import NIOCore
import Testing
@testable import SluiceServer

/// RoomService fed the JSON LiveKit's Node server SDK writes (protobuf-es: camelCase, every option
/// of createRoom, the legacy destinationSids of sendData), byte for byte as it printed it.
@Suite struct RoomServiceNodeSDKTests {
    func post(_ client: some TestClientProtocol, _ method: String, _ json: String) async throws -> (HTTPResponse.Status, [String: Any]) {
        let token = try RoomServiceTests.token(RoomServiceTests.admin)
        let r = try await client.execute(uri: "/twirp/livekit.RoomService/\(method)", method: .post,
                                         headers: [.contentType: "application/json;charset=UTF-8",
                                                   .authorization: "Bearer \(token)"],
                                         body: ByteBuffer(string: json))
        let object = (try? JSONSerialization.jsonObject(with: Data(buffer: r.body))) as? [String: Any] ?? [:]
        return (r.status, object)
    }

    @Test func createRoomWithEveryOptionAndAutoEgressRefused() async throws {
        let app = try RoomServiceTests.makeApp()
        try await Application(router: app.makeRouter()).test(.router) { client in
            let (status, room) = try await post(client, "CreateRoom", #"{"name":"shop","emptyTimeout":300,"maxParticipants":4,"#
                + #""nodeId":"n","metadata":"m","minPlayoutDelay":100,"maxPlayoutDelay":400,"syncStreams":true,"#
                + #""departureTimeout":20,"roomPreset":"p","tags":{"a":"b"},"agents":[{"agentName":"x"}]}"#)
            #expect(status == .ok)
            #expect(room["name"] as? String == "shop" && room["emptyTimeout"] as? Int == 300)
            #expect(room["departureTimeout"] as? Int == 20 && room["maxParticipants"] as? Int == 4)

            // Accepting an automatic egress and recording nothing would lose the recording.
            let (refused, error) = try await post(client, "CreateRoom", #"{"name":"auto","egress":{"room":{"roomName":"auto"}}}"#)
            #expect(refused == .notImplemented && error["code"] as? String == "unimplemented")
            let (_, listed) = try await post(client, "ListRooms", #"{"names":["auto"]}"#)
            #expect((listed["rooms"] as? [Any] ?? []).isEmpty, "the refused room must not exist")
        }
    }

    @Test func sendDataToSidsNobodyHasIsNotFound() async throws {
        let app = try RoomServiceTests.makeApp()
        _ = try await app.rooms.createRoom(name: "shop")
        try await Application(router: app.makeRouter()).test(.router) { client in
            let (status, error) = try await post(client, "SendData",
                                                 #"{"room":"shop","data":"AQID","destinationSids":["PA_nobody"],"topic":"t"}"#)
            #expect(status == .notFound && error["code"] as? String == "not_found")
            let (toAll, _) = try await post(client, "SendData", #"{"room":"shop","data":"AQID","topic":"t","nonce":"QBHaEcLLA6/cWWZa5eHZ9w=="}"#)
            #expect(toAll == .ok)
        }
    }
}
