import Auth
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwiftProtobuf

/// Dispatches `POST /twirp/<package.Service>/<Method>` to typed handlers.
///
/// A service registers each method with its request type; the router authenticates the bearer
/// token, decodes the body in the caller's encoding, runs the handler and encodes the reply the
/// same way. Every failure becomes a Twirp error body; nothing a client sends can crash it.
struct TwirpRouter: Sendable {
    typealias Handler = @Sendable (_ body: [UInt8], _ encoding: TwirpEncoding, _ claims: AccessTokenClaims) async throws
        -> [UInt8]

    let service: String
    private(set) var methods: [String: Handler] = [:]
    /// Methods of LiveKit's API that Sluice does not serve, with why: they answer `unimplemented`
    /// (501) rather than `bad_route`, so an SDK's caller learns the method exists but is not here.
    private(set) var unserved: [String: String] = [:]
    /// Set for a LiveKit service Sluice does not serve at all: every method answers `unimplemented`
    /// with this message.
    let unservedService: String?

    init(service: String, unservedService: String? = nil) {
        self.service = service
        self.unservedService = unservedService
    }

    /// A LiveKit method Sluice does not serve: 501 with `message` (after authentication).
    mutating func refuse(_ method: String, _ message: String) {
        unserved[method] = message
    }

    mutating func register<Req: SwiftProtobuf.Message, Res: SwiftProtobuf.Message>(
        _ method: String, _ request: Req.Type,
        _ handler: @escaping @Sendable (Req, AccessTokenClaims) async throws -> Res
    ) {
        methods[method] = { body, encoding, claims in
            let req = try encoding.decode(Req.self, from: body)
            let res = try await handler(req, claims)
            return try encoding.encode(res)
        }
    }

    /// Largest request body accepted; LiveKit's requests are small, SendData payloads included.
    static let maxBodySize = 4 * 1024 * 1024

    func respond(to request: Request, method: String, tokens: AccessToken, logger: Logger) async -> Response {
        var encoding = TwirpEncoding.json
        do {
            encoding = try TwirpEncoding(contentType: request.headers[.contentType])
            let handler = methods[method]
            let refusal = handler == nil ? unserved[method] ?? unservedService : nil
            guard handler != nil || refusal != nil else {
                throw TwirpError(.badRoute, "no method \(method) in /twirp/\(service)")
            }
            guard let token = AccessToken.bearer(request.headers[.authorization]) else {
                throw TwirpError(.unauthenticated, "missing access token (Authorization: Bearer <jwt>)")
            }
            let claims: AccessTokenClaims
            do {
                claims = try tokens.verify(token)
            } catch {
                throw TwirpError(.unauthenticated, error.description)
            }
            if let refusal { throw TwirpError(.unimplemented, "\(service)/\(method) is not implemented by Sluice: \(refusal)") }
            guard let handler else { throw TwirpError(.badRoute, "no method \(method) in /twirp/\(service)") }
            var buffer: ByteBuffer
            do {
                buffer = try await request.body.collect(upTo: Self.maxBodySize)
            } catch {
                throw TwirpError(.malformed, "request body too large or unreadable")
            }
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            let reply = try await handler(bytes, encoding, claims)
            var headers = HTTPFields()
            headers[.contentType] = encoding.contentType
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: reply)))
        } catch let error as TwirpError {
            if error.code == .internalError {
                // Internal failures carry detail (SQL, file system, codec errors) meant for the
                // operator: logged here, never sent, whichever service raised them (issue #20).
                logger.error("twirp call failed", metadata: ["method": "\(service)/\(method)", "error": "\(error)"])
                return Self.errorResponse(TwirpError(.internalError, "internal error"))
            }
            return Self.errorResponse(error)
        } catch {
            logger.error("twirp call failed", metadata: ["method": "\(service)/\(method)", "error": "\(error)"])
            // The detail is logged above; clients get no internal text (issue #20).
            return Self.errorResponse(TwirpError(.internalError, "internal error"))
        }
    }

    static func errorResponse(_ error: TwirpError) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: error.code.status, headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: error.jsonBody)))
    }
}
