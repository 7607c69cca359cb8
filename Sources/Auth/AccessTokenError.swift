/// Why a token was refused. The description is safe to return to the caller.
public enum AccessTokenError: Error, Equatable, CustomStringConvertible, Sendable {
    case missing
    case malformed(String)
    case unsupportedAlgorithm(String)
    case unknownAPIKey
    case badSignature
    case expired
    case notYetValid

    public var description: String {
        switch self {
        case .missing: return "no access token"
        case .malformed(let why): return "malformed access token: \(why)"
        case .unsupportedAlgorithm(let alg): return "unsupported token algorithm \"\(alg)\" (HS256 required)"
        case .unknownAPIKey: return "unknown API key"
        case .badSignature: return "invalid token signature"
        case .expired: return "token is expired"
        case .notYetValid: return "token is not valid yet"
        }
    }
}
