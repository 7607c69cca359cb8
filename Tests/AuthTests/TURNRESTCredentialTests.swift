import Foundation
import Testing
@testable import Auth

@Suite struct TURNRESTCredentialTests {
    /// The vector was computed outside Swift: `printf '%s' '1700000000:viewer-1' |
    /// openssl dgst -sha1 -hmac north-wind -binary | base64` (Python's hmac agrees).
    @Test func matchesAnIndependentlyComputedVector() {
        let c = TURNRESTCredential(secret: "north-wind", identity: "viewer-1", expiresAt: 1_700_000_000)
        #expect(c.username == "1700000000:viewer-1")
        #expect(c.credential == "Ui+wSyuIB77VouDPIJRdtu5lcIo=")
    }

    @Test func expiryIsNowPlusTTL() {
        let c = TURNRESTCredential(secret: "s", identity: "a", ttl: 600, now: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(c.expiresAt == 1_800_000_600)
        #expect(c.username.hasPrefix("1800000600:"))
    }

    @Test func differentSecretsGiveDifferentCredentials() {
        let a = TURNRESTCredential(secret: "one", identity: "v", expiresAt: 1)
        let b = TURNRESTCredential(secret: "two", identity: "v", expiresAt: 1)
        #expect(a.username == b.username)
        #expect(a.credential != b.credential)
    }

    @Test func colonInIdentityIsReplaced() {
        let c = TURNRESTCredential(secret: "s", identity: "a:b", expiresAt: 5)
        #expect(c.username == "5:a_b")
    }
}
