import Auth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import SluiceServer

/// The WHIP/WHEP routes' error paths in-process (the media path is proven by Interop/test_whip_whep.py).
@Suite struct WHIPRoutesTests {
    static func token(_ grant: VideoGrant, identity: String = "cam") throws -> String {
        let now = Date().timeIntervalSince1970
        return try AccessToken.sign(
            AccessTokenClaims(apiKey: "devkey", identity: identity, notBefore: now - 10, expires: now + 600, video: grant),
            secret: "secret")
    }

    func post(_ client: some TestClientProtocol, _ uri: String, token: String?, body: String,
              contentType: String = "application/sdp") async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: contentType]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    @Test func errorsArePlainTextWithTheRightStatus() async throws {
        let app = Application(router: try RoomServiceTests.makeApp().makeRouter())
        let publish = try Self.token(VideoGrant(roomJoin: true, room: "r", canPublish: true))
        let joinOnly = try Self.token(VideoGrant(roomJoin: true, room: "r", canPublish: false))
        try await app.test(.router) { client in
            var r = try await post(client, "/whip/r", token: nil, body: "v=0")
            #expect(r.status == .unauthorized)
            r = try await post(client, "/whip/r", token: "nope", body: "v=0")
            #expect(r.status == .unauthorized)
            r = try await post(client, "/whip/r", token: joinOnly, body: "v=0")
            #expect(r.status == .forbidden)
            r = try await post(client, "/whip/other", token: publish, body: "v=0")
            #expect(r.status == .forbidden)
            r = try await post(client, "/whip/r", token: publish, body: "v=0", contentType: "text/plain")
            #expect(r.status == .unsupportedMediaType)
            r = try await post(client, "/whip/r", token: publish, body: "v=0\r\ngarbage\r\n")
            #expect(r.status == .badRequest)
            #expect(String(buffer: r.body).contains("SDP"))
            #expect(r.headers[.contentType]?.hasPrefix("text/plain") == true)
            r = try await post(client, "/whep/r/cam", token: try Self.token(VideoGrant(roomJoin: true, room: "r"), identity: "v"),
                               body: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n")
            #expect(r.status == .notFound)
            r = try await client.execute(uri: "/whip/r/WHIP_unknown", method: .delete, headers: [.authorization: "Bearer \(publish)"])
            #expect(r.status == .notFound)
        }
    }
}
