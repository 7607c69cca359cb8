import Foundation
import HTTPTypes

/// A Twirp error: the JSON body `{"code", "msg", "meta"}` and its HTTP status, as LiveKit's
/// server SDKs expect them (https://twitchtv.github.io/twirp/docs/errors.html).
public struct TwirpError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidArgument = "invalid_argument"
        case malformed
        case unauthenticated
        case permissionDenied = "permission_denied"
        case notFound = "not_found"
        case badRoute = "bad_route"
        case alreadyExists = "already_exists"
        case failedPrecondition = "failed_precondition"
        case resourceExhausted = "resource_exhausted"
        case internalError = "internal"
        case unimplemented
        case unavailable

        var status: HTTPResponse.Status {
            switch self {
            case .invalidArgument, .malformed: return .badRequest
            case .unauthenticated: return .unauthorized
            case .permissionDenied: return .forbidden
            case .notFound, .badRoute: return .notFound
            case .alreadyExists: return .conflict
            case .failedPrecondition: return .preconditionFailed
            case .resourceExhausted: return .tooManyRequests
            case .internalError: return .internalServerError
            case .unimplemented: return .notImplemented
            case .unavailable: return .serviceUnavailable
            }
        }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    var jsonBody: Data {
        let object: [String: Any] = ["code": code.rawValue, "msg": message, "meta": [String: String]()]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }
}
