import Crypto
import Foundation

/// A short-lived TURN credential per the TURN REST API (draft-uberti-behave-turn-rest, as coturn's
/// `use-auth-secret` checks it): the username is `<expiry unix seconds>:<identity>` and the
/// password is base64(HMAC-SHA1(shared secret, username)). The TURN server recomputes the HMAC from
/// the secret it shares with us and refuses the username once its time has passed, so no per-user
/// state is kept on either side.
public struct TURNRESTCredential: Sendable, Equatable {
    public let username: String
    public let credential: String
    public let expiresAt: Int64

    public init(secret: String, identity: String, expiresAt: Int64) {
        // A ':' in the identity would be harmless to coturn (it splits at the first one) but is
        // kept out so the username reads back unambiguously.
        let who = identity.replacingOccurrences(of: ":", with: "_")
        username = who.isEmpty ? "\(expiresAt)" : "\(expiresAt):\(who)"
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(username.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        credential = Data(mac).base64EncodedString()
        self.expiresAt = expiresAt
    }

    /// A credential valid for `ttl` seconds from `now`.
    public init(secret: String, identity: String, ttl: UInt32, now: Date = Date()) {
        self.init(secret: secret, identity: identity, expiresAt: Int64(now.timeIntervalSince1970) + Int64(ttl))
    }
}
