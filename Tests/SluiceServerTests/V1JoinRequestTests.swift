import Foundation
import Hummingbird
import HummingbirdTesting
import LiveKitProto
import Testing
@testable import SluiceServer

/// `/rtc/v1`'s `join_request`: base64 (URL-safe or standard) of a WrappedJoinRequest, plain or
/// gzip. The blobs were made outside Swift (Python's gzip and base64) from a JoinRequest with
/// client_info {sdk: JS, protocol: 17} and connection_settings {auto_subscribe: false}.
private let plainURLSafe = "EgoKBAgBGBESAggA"
private let gzipStandard = "CAESHh+LCAAAAAAAAgPjYuFglBAUYuJgAAAERp5fCgAAAA=="
private let gzipURLSafe = "CAESHh-LCAAAAAAAAgPjYuFglBAUYuJgAAAERp5fCgAAAA"

@Suite struct V1JoinRequestTests {

    @Test(arguments: [plainURLSafe, gzipStandard, gzipURLSafe])
    func decodesEveryEncodingClientsSend(_ parameter: String) throws {
        let request = try V1JoinRequest.decode(parameter)
        #expect(request.clientInfo.sdk == .js)
        #expect(request.clientInfo.`protocol` == 17)
        #expect(request.hasConnectionSettings && !request.connectionSettings.autoSubscribe)
        #expect(!request.hasPublisherOffer && !request.reconnect)
    }

    @Test func theQueryTakesItsOptionsFromTheJoinRequest() {
        let query = RTCQuery(target: "/prefix/rtc/v1?access_token=t&join_request=\(gzipURLSafe)")
        #expect(query.isV1 && query.joinRequestError == nil)
        #expect(query.protocolVersion == 17 && !query.autoSubscribe && query.resumeSid == nil)
        #expect(!RTCQuery(target: "/rtc?access_token=t").isV1)
    }

    @Test func resumingClientsNameTheirSession() throws {
        var request = Livekit_JoinRequest()
        request.reconnect = true
        request.participantSid = "PA_abc"
        var wrapped = Livekit_WrappedJoinRequest()
        wrapped.joinRequest = try request.serializedData()
        let parameter = try wrapped.serializedData().base64EncodedString()
        let query = RTCQuery(target: "/rtc/v1?join_request=\(parameter.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
        #expect(query.resumeSid == "PA_abc")
    }

    @Test(arguments: ["", "!!!!", "AAAA", "CAESBAECAwQ", "CAISAA"])
    func badInputIsAClearError(_ parameter: String) {
        // Not base64; not a WrappedJoinRequest; gzip that is not gzip; an unknown compression.
        #expect(throws: V1JoinRequest.DecodeError.self) { try V1JoinRequest.decode(parameter) }
    }

    @Test func servedValidateReadsTheJoinRequestAfterTheToken() async throws {
        try await CORSTests.app().test(.router) { client in
            let token = try CORSTests.joinToken()
            let good = try await client.execute(uri: "/rtc/v1/validate?access_token=\(token)&join_request=\(plainURLSafe)",
                                                method: .get)
            #expect(good.status == .ok && String(buffer: good.body) == "success")
            let bad = try await client.execute(uri: "/rtc/v1/validate?access_token=\(token)&join_request=AAAA", method: .get)
            #expect(bad.status == .badRequest && String(buffer: bad.body).hasPrefix("bad join_request"))
            let missing = try await client.execute(uri: "/base/rtc/v1/validate?access_token=\(token)", method: .get)
            #expect(missing.status == .badRequest)
            let badToken = try await client.execute(uri: "/rtc/v1/validate?access_token=x&join_request=AAAA", method: .get)
            #expect(badToken.status == .unauthorized)
        }
    }
}
