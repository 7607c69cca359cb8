import Auth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LiveKitProto
import NIOCore
import SwiftProtobuf
import Testing
@testable import SluiceServer

/// The Egress Twirp routes in-process: grant, refusals with their codes, JSON and protobuf.
@Suite struct EgressServiceTests {
    func call(_ client: some TestClientProtocol, _ method: String, grant: VideoGrant, json: String) async throws
        -> TestResponse {
        let token = try RoomServiceTests.token(grant)
        return try await client.execute(uri: "/twirp/livekit.Egress/\(method)", method: .post,
                                        headers: [.contentType: "application/json", .authorization: "Bearer \(token)"],
                                        body: ByteBuffer(string: json))
    }

    func code(_ response: TestResponse) -> String {
        let object = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
        return object?["code"] as? String ?? ""
    }

    @Test func grantsRefusalsAndListing() async throws {
        let app = try RoomServiceTests.makeApp()
        _ = try await app.rooms.createRoom(name: "shop")
        let record = VideoGrant(roomRecord: true)
        try await Application(router: app.makeRouter()).test(.router) { client in
            let noGrant = try await call(client, "ListEgress", grant: VideoGrant(roomAdmin: true, room: "shop"), json: "{}")
            #expect(noGrant.status == .forbidden && code(noGrant) == "permission_denied")

            let noRoom = try await call(client, "StartTrackEgress", grant: record,
                                        json: #"{"room_name":"nowhere","track_id":"TR_x","file":{"filepath":"x"}}"#)
            #expect(noRoom.status == .notFound && code(noRoom) == "not_found")
            let noTrack = try await call(client, "StartTrackEgress", grant: record,
                                         json: #"{"room_name":"shop","track_id":"TR_x","file":{"filepath":"x"}}"#)
            #expect(noTrack.status == .notFound)
            let websocket = try await call(client, "StartTrackEgress", grant: record,
                                           json: #"{"room_name":"shop","track_id":"TR_x","websocket_url":"ws://x"}"#)
            #expect(websocket.status == .notImplemented)
            let nobody = try await call(client, "StartParticipantEgress", grant: record,
                                        json: #"{"room_name":"shop","identity":"carol","file_outputs":[{}]}"#)
            #expect(nobody.status == .notFound)
            let twoFiles = try await call(client, "StartParticipantEgress", grant: record,
                                          json: #"{"room_name":"shop","identity":"carol","file_outputs":[{"filepath":"a"},{"filepath":"b"}]}"#)
            #expect(twoFiles.status == .badRequest)
            let noTracks = try await call(client, "StartTrackCompositeEgress", grant: record,
                                          json: #"{"room_name":"shop","file_outputs":[{}]}"#)
            #expect(noTracks.status == .badRequest)
            let web = try await call(client, "StartWebEgress", grant: record, json: #"{"url":"https://x"}"#)
            #expect(web.status == .notImplemented && code(web) == "unimplemented")
            // UpdateStream of an egress that does not exist is not_found, as in LiveKit.
            let streamOfNothing = try await call(client, "UpdateStream", grant: record,
                                                 json: #"{"egressId":"EG_nope","addOutputUrls":["rtmp://x"]}"#)
            #expect(streamOfNothing.status == .notFound && code(streamOfNothing) == "not_found")
            let compositeNoRoom = try await call(client, "StartRoomCompositeEgress", grant: record,
                                                 json: #"{"room_name":"nowhere","layout":"grid","file_outputs":[{}]}"#)
            #expect(compositeNoRoom.status == .notFound)
            let compositeStream = try await call(client, "StartRoomCompositeEgress", grant: record,
                                                 json: #"{"room_name":"shop","stream_outputs":[{}]}"#)
            #expect(compositeStream.status == .badRequest, "a stream output without urls")
            let srt = try await call(client, "StartRoomCompositeEgress", grant: record,
                                     json: #"{"room_name":"shop","stream_outputs":[{"protocol":"SRT","urls":["srt://x:1"]}]}"#)
            #expect(srt.status == .notImplemented)
            let notRTMP = try await call(client, "StartRoomCompositeEgress", grant: record,
                                         json: #"{"room_name":"shop","stream_outputs":[{"urls":["http://x/live/k"]}]}"#)
            #expect(notRTMP.status == .badRequest)
            let customTemplate = try await call(client, "StartRoomCompositeEgress", grant: record,
                                                json: #"{"room_name":"shop","custom_base_url":"https://x","file_outputs":[{}]}"#)
            #expect(customTemplate.status == .notImplemented)
            let layoutOfNothing = try await call(client, "UpdateLayout", grant: record,
                                                 json: #"{"egress_id":"EG_nope","layout":"speaker"}"#)
            #expect(layoutOfNothing.status == .notFound)
            // A layout name the app chose is no refusal: the egress is looked up, as for any layout.
            let unknownLayout = try await call(client, "UpdateLayout", grant: record,
                                               json: #"{"egress_id":"EG_nope","layout":"mosaic"}"#)
            #expect(unknownLayout.status == .notFound)
            let stop = try await call(client, "StopEgress", grant: record, json: #"{"egress_id":"EG_nope"}"#)
            #expect(stop.status == .notFound)

            let list = try await call(client, "ListEgress", grant: record, json: #"{"room_name":"shop"}"#)
            #expect(list.status == .ok)
            let items = try Livekit_ListEgressResponse(jsonUTF8Bytes: Array(buffer: list.body)).items
            #expect(items.isEmpty)
        }
    }
}
