import Crypto
import Foundation

/// Signs and verifies LiveKit access tokens: compact JWTs with `alg: HS256`, keyed by API key.
///
/// The HMAC comes from swift-crypto; this type only does the JWT framing.
public struct AccessToken: Sendable {
    /// API key -> secret.
    public let keys: [String: String]
    /// Clock skew tolerated on `exp` and `nbf`, like LiveKit's one minute.
    public let leeway: Double

    public init(keys: [String: String], leeway: Double = 60) {
        self.keys = keys
        self.leeway = leeway
    }

    /// Makes a signed token. `claims.iss` must be a configured key.
    public static func sign(_ claims: AccessTokenClaims, secret: String) throws -> String {
        let header = #"{"alg":"HS256","typ":"JWT"}"#
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = try encoder.encode(claims)
        let signingInput = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(payload)
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data(signingInput.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return signingInput + "." + Base64URL.encode(mac)
    }

    /// Verifies signature, algorithm and validity window, and returns the claims.
    public func verify(_ token: String, now: Date = Date()) throws(AccessTokenError) -> AccessTokenClaims {
        let trimmed = token.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw .missing }
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("expected three dot-separated parts") }
        guard let headerData = Base64URL.decode(parts[0]),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any]
        else { throw .malformed("header is not base64url JSON") }
        let alg = header["alg"] as? String ?? ""
        // Only HS256: "none" and asymmetric algorithms are refused outright (alg confusion).
        guard alg == "HS256" else { throw .unsupportedAlgorithm(alg) }
        guard let payload = Base64URL.decode(parts[1]) else { throw .malformed("payload is not base64url") }
        guard let signature = Base64URL.decode(parts[2]) else { throw .malformed("signature is not base64url") }
        let claims: AccessTokenClaims
        do {
            claims = try JSONDecoder().decode(AccessTokenClaims.self, from: payload)
        } catch {
            throw .malformed("claims are not valid: \(error)")
        }
        guard let secret = keys[claims.iss] else { throw .unknownAPIKey }
        let signingInput = Data(parts[0].utf8) + Data(".".utf8) + Data(parts[1].utf8)
        guard HMAC<SHA256>.isValidAuthenticationCode(
            signature, authenticating: signingInput, using: SymmetricKey(data: Data(secret.utf8)))
        else { throw .badSignature }
        let t = now.timeIntervalSince1970
        // A signed token without `exp` would be valid forever; LiveKit refuses those too.
        guard let exp = claims.exp else { throw .malformed("token has no exp claim") }
        if t > exp + leeway { throw .expired }
        if let nbf = claims.nbf, t + leeway < nbf { throw .notYetValid }
        return claims
    }

    /// The token of an `Authorization: Bearer <jwt>` header value (LiveKit also accepts it bare).
    public static func bearer(_ headerValue: String?) -> String? {
        guard let value = headerValue?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if value.lowercased().hasPrefix("bearer ") {
            return String(value.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        }
        return value
    }
}
