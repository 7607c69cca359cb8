import Foundation
import Testing
@testable import Auth

@Suite struct AccessTokenTests {
    let verifier = AccessToken(keys: ["devkey": "secret", "other": "othersecret"])
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func claims(exp: Double? = 1_800_003_600, nbf: Double? = 1_799_999_000, key: String = "devkey") -> AccessTokenClaims {
        AccessTokenClaims(apiKey: key, identity: "alice", notBefore: nbf, expires: exp, name: "Alice",
                          metadata: "{\"x\":1}", attributes: ["team": "blue"],
                          video: VideoGrant(roomJoin: true, room: "shop", canPublish: false,
                                            canPublishSources: ["camera"]))
    }

    @Test func signedTokenVerifies() throws {
        let token = try AccessToken.sign(claims(), secret: "secret")
        let out = try verifier.verify(token, now: now)
        #expect(out.identity == "alice")
        #expect(out.name == "Alice")
        #expect(out.attributes == ["team": "blue"])
        #expect(out.grant.mayJoin)
        #expect(out.grant.room == "shop")
        #expect(!out.grant.mayPublish)
        #expect(out.grant.maySubscribe)  // absent => true, as in LiveKit
        #expect(out.grant.canPublishSources == ["camera"])
    }

    @Test func wrongSecretIsRejected() throws {
        let token = try AccessToken.sign(claims(), secret: "not-the-secret")
        #expect(throws: AccessTokenError.badSignature) { try verifier.verify(token, now: now) }
    }

    @Test func unknownKeyIsRejected() throws {
        let token = try AccessToken.sign(claims(key: "stranger"), secret: "secret")
        #expect(throws: AccessTokenError.unknownAPIKey) { try verifier.verify(token, now: now) }
    }

    @Test func expiryAndNotBeforeHonourOneMinuteLeeway() throws {
        let token = try AccessToken.sign(claims(exp: 1_800_000_000 - 30), secret: "secret")
        _ = try verifier.verify(token, now: now)  // 30 s past exp: within leeway
        let expired = try AccessToken.sign(claims(exp: 1_800_000_000 - 61), secret: "secret")
        #expect(throws: AccessTokenError.expired) { try verifier.verify(expired, now: now) }
        let early = try AccessToken.sign(claims(nbf: 1_800_000_000 + 120), secret: "secret")
        #expect(throws: AccessTokenError.notYetValid) { try verifier.verify(early, now: now) }
    }

    @Test func tokenWithoutExpiryIsRejected() throws {
        let token = try AccessToken.sign(claims(exp: nil), secret: "secret")
        #expect(throws: AccessTokenError.malformed("token has no exp claim")) { try verifier.verify(token, now: now) }
    }

    @Test func algNoneIsRejected() throws {
        let header = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8))
        let body = Base64URL.encode(Array(#"{"iss":"devkey","sub":"x","video":{"roomAdmin":true}}"#.utf8))
        #expect(throws: AccessTokenError.unsupportedAlgorithm("none")) {
            try verifier.verify("\(header).\(body).", now: now)
        }
    }

    @Test func tamperedPayloadIsRejected() throws {
        let token = try AccessToken.sign(claims(), secret: "secret")
        let parts = token.split(separator: ".").map(String.init)
        let forged = Base64URL.encode(Array(#"{"iss":"devkey","sub":"mallory","exp":1800003600}"#.utf8))
        #expect(throws: AccessTokenError.badSignature) {
            try verifier.verify("\(parts[0]).\(forged).\(parts[2])", now: now)
        }
    }

    @Test(arguments: ["", "abc", "a.b", "a.b.c.d", "!!.??.**", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln"])
    func garbageIsMalformedNotFatal(_ token: String) {
        #expect(throws: AccessTokenError.self) { try verifier.verify(token, now: now) }
    }

    @Test func bearerHeader() {
        #expect(AccessToken.bearer("Bearer abc") == "abc")
        #expect(AccessToken.bearer("bearer  abc ") == "abc")
        #expect(AccessToken.bearer("abc") == "abc")
        #expect(AccessToken.bearer(nil) == nil)
        #expect(AccessToken.bearer("  ") == nil)
    }

    @Test func adminGrantNeedsMatchingRoom() {
        #expect(VideoGrant(roomAdmin: true, room: "a").mayAdminister(room: "a"))
        #expect(!VideoGrant(roomAdmin: true, room: "a").mayAdminister(room: "b"))
        #expect(!VideoGrant(roomAdmin: false, room: "a").mayAdminister(room: "a"))
    }
}
