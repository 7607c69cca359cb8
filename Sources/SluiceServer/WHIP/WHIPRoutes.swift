import MediaPlane
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Media
import SFU
import NIOCore
import Signal
import WebRTC

/// WHIP ingest (RFC 9725) and WHEP playback over HTTP:
///
///     POST   /whip/{room}                      Bearer token: roomJoin + canPublish for {room}
///     DELETE /whip/{room}/{session}
///     POST   /whep/{room}/{participant}        Bearer token: roomJoin + canSubscribe for {room}
///            [?quality=low|medium|high]        the layer of simulcast video (default high)
///     DELETE /whep/{room}/{session}
///
/// {participant} is the identity of any publisher in the room: a WHIP encoder or a LiveKit client.
/// POST takes an SDP offer (application/sdp) and answers 201 with the SDP answer, `Location` and
/// `ETag`. Errors are plain text: 400 malformed/unanswerable SDP, 401 missing or bad token,
/// 403 missing grant, 404 unknown room/participant/session, 415 wrong content type.
struct WHIPRoutes: Sendable {
    let sessions: MediaSessions
    let rooms: RoomManager
    let membership: WHIPMembership
    let tokens: AccessToken
    let autoCreateRooms: Bool
    let logger: Logger
    let drain: DrainState
    /// TURN servers for the answers' `Link` headers (RFC 9725 §4.6).
    let iceServers: ICEServerDirectory

    static let maxOfferSize = 256 * 1024
    static let linkField = HTTPField.Name("Link")!

    init(app: SluiceApplication) {
        sessions = app.mediaSessions
        rooms = app.rooms
        membership = app.whipMembership
        tokens = app.tokens
        autoCreateRooms = app.config.room.autoCreate
        logger = app.logger
        drain = app.drain
        iceServers = ICEServerDirectory(config: app.config)
    }

    func register(on router: Router<BasicRequestContext>) {
        router.post("/whip/:room") { request, context in
            await self.publish(request, room: context.parameters.get("room") ?? "")
        }
        // One parameter name per path position: the router's trie shares the node across methods.
        router.delete("/whip/:room/:id") { request, context in
            await self.end(request, room: context.parameters.get("room") ?? "",
                           session: context.parameters.get("id") ?? "", publisher: true)
        }
        router.post("/whep/:room/:id") { request, context in
            await self.subscribe(request, room: context.parameters.get("room") ?? "",
                                 publisher: context.parameters.get("id") ?? "")
        }
        router.delete("/whep/:room/:id") { request, context in
            await self.end(request, room: context.parameters.get("room") ?? "",
                           session: context.parameters.get("id") ?? "", publisher: false)
        }
    }

    // MARK: Handlers

    private func publish(_ request: Request, room: String) async -> Response {
        do {
            let claims = try authorize(request, room: room)
            guard claims.grant.mayPublish else { throw WHIPError(.forbidden, "access token lacks the canPublish grant") }
            guard !drain.isDraining else { throw WHIPError(.serviceUnavailable, DrainState.reason) }
            let offer = try await readOffer(request)
            try await ensureRoom(room)
            let identity = claims.identity.isEmpty ? SessionID.participant() : claims.identity
            await sessions.closePublisher(room: room, identity: identity)
            let (session, answer) = try await open(room: room, identity: identity, role: .publisher, offer: offer)
            try await join(session, claims: claims, identity: identity)
            return created(answer, location: "/whip/\(escape(room))/\(session.id)", session: session, identity: identity)
        } catch {
            return failure(error)
        }
    }

    private func subscribe(_ request: Request, room: String, publisher: String) async -> Response {
        do {
            let claims = try authorize(request, room: room)
            guard claims.grant.maySubscribe else { throw WHIPError(.forbidden, "access token lacks the canSubscribe grant") }
            guard !drain.isDraining else { throw WHIPError(.serviceUnavailable, DrainState.reason) }
            let quality = try Self.quality(request.uri.queryParameters.get("quality"))
            let offer = try await readOffer(request)
            guard await rooms.room(named: room) != nil else { throw WHIPError(.notFound, "room \(room) not found") }
            guard await sessions.publishes(room: room, identity: publisher) else {
                throw WHIPError(.notFound, "participant \(publisher) does not publish in room \(room)")
            }
            let identity = claims.identity.isEmpty ? SessionID.participant() : claims.identity
            let (session, answer) = try await open(room: room, identity: identity, role: .subscriber(publisherIdentity: publisher),
                                                   quality: quality, offer: offer)
            try await join(session, claims: claims, identity: identity)
            return created(answer, location: "/whep/\(escape(room))/\(session.id)", session: session, identity: identity)
        } catch {
            return failure(error)
        }
    }

    private func end(_ request: Request, room: String, session id: String, publisher: Bool) async -> Response {
        do {
            _ = try authorize(request, room: room)
            guard let session = await sessions.session(id: id), session.roomName == room,
                  (session.role == .publisher) == publisher else {
                throw WHIPError(.notFound, "no session \(id) in room \(room)")
            }
            await sessions.close(session)
            return Response(status: .ok)
        } catch {
            return failure(error)
        }
    }

    // MARK: Helpers

    /// Adds the session's participant to the room; if the room refuses, the session is closed.
    private func join(_ session: MediaSession, claims: AccessTokenClaims, identity: String) async throws {
        let parameters = JoinParameters(identity: identity, name: claims.name ?? "", metadata: claims.metadata ?? "",
                                        attributes: claims.attributes ?? [:], grant: claims.grant)
        do {
            try await membership.join(session, claims: parameters, sessions: sessions)
        } catch let error as JoinError {
            await sessions.close(session)
            throw WHIPError(HTTPResponse.Status(code: error.httpStatus), error.description)
        }
    }

    /// The `quality` query parameter, in LiveKit's VideoQuality names.
    static func quality(_ value: String?) throws -> LayerSelector.Quality {
        switch value?.lowercased() {
        case nil, "", "high": return .high
        case "medium": return .medium
        case "low": return .low
        case let other?: throw WHIPError(.badRequest, "quality must be low, medium or high, not \"\(other)\"")
        }
    }

    private func open(room: String, identity: String, role: MediaSession.Role, quality: LayerSelector.Quality = .high,
                      offer: SessionDescription) async throws -> (MediaSession, String) {
        do {
            return try await sessions.open(room: room, identity: identity, role: role, quality: quality, offer: offer)
        } catch let error as NegotiationError {
            throw WHIPError(.badRequest, error.description)
        } catch let error as SDPParseError {
            throw WHIPError(.badRequest, "malformed SDP: \(error)")
        } catch let error as MediaSessionError {
            switch error {
            case .publisherGone: throw WHIPError(.notFound, error.description)
            case .gatheringTimedOut: throw WHIPError(.serviceUnavailable, error.description)
            }
        } catch let error as PeerTransportError {
            throw WHIPError(.badRequest, "cannot use the offer's transport: \(error)")
        }
    }

    private func authorize(_ request: Request, room: String) throws -> AccessTokenClaims {
        guard let token = AccessToken.bearer(request.headers[.authorization]) else {
            throw WHIPError(.unauthorized, "missing Authorization: Bearer <access token>")
        }
        let claims: AccessTokenClaims
        do {
            claims = try tokens.verify(token)
        } catch {
            throw WHIPError(.unauthorized, "invalid access token: \(error)")
        }
        let grant = claims.grant
        guard grant.mayJoin else { throw WHIPError(.forbidden, "access token lacks the roomJoin grant") }
        guard (grant.room ?? "") == room else {
            throw WHIPError(.forbidden, "access token is for room \"\(grant.room ?? "")\", not \"\(room)\"")
        }
        return claims
    }

    private func readOffer(_ request: Request) async throws -> SessionDescription {
        let contentType = (request.headers[.contentType] ?? "").lowercased()
        guard contentType.hasPrefix("application/sdp") else {
            throw WHIPError(.unsupportedMediaType, "Content-Type must be application/sdp")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maxOfferSize)
        } catch {
            throw WHIPError(.contentTooLarge, "SDP offer larger than \(Self.maxOfferSize) bytes")
        }
        let text = String(buffer: buffer)
        do {
            let offer = try SessionDescription(parsing: text)
            guard !offer.mediaSections.isEmpty else { throw WHIPError(.badRequest, "malformed SDP: no m= lines") }
            return offer
        } catch let error as SDPParseError {
            throw WHIPError(.badRequest, "malformed SDP: \(error)")
        }
    }

    private func ensureRoom(_ name: String) async throws {
        if await rooms.room(named: name) != nil { return }
        guard autoCreateRooms else { throw WHIPError(.notFound, "room \(name) not found") }
        do {
            _ = try await rooms.createRoom(name: name)
        } catch {
            if case .storage = error { throw WHIPError(.internalServerError, error.detail) }
            throw WHIPError(.badRequest, error.description)
        }
    }

    private func created(_ answer: String, location: String, session: MediaSession, identity: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/sdp"
        headers[.location] = location
        headers[.eTag] = "\"\(session.id)\""
        // One Link field per TURN URL, each with this client's credentials.
        for link in iceServers.linkHeaders(for: identity) {
            headers.append(HTTPField(name: Self.linkField, value: link))
        }
        return Response(status: .created, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer)))
    }

    private func failure(_ error: any Error) -> Response {
        let whip = error as? WHIPError ?? WHIPError(.internalServerError, "\(error)")
        var reason = whip.reason
        if whip.status == .internalServerError {
            // The detail is for the log; the client learns only that the server failed. A 503
            // (draining, no ports or gathering in time) carries its reason: it is meant for the
            // client, which may retry elsewhere or later.
            logger.error("WHIP/WHEP request failed", metadata: ["error": "\(whip.reason)"])
            reason = "internal error"
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: whip.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: reason + "\n")))
    }

    private func escape(_ room: String) -> String {
        room.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? room
    }
}

struct WHIPError: Error {
    let status: HTTPResponse.Status
    let reason: String
    init(_ status: HTTPResponse.Status, _ reason: String) {
        self.status = status
        self.reason = reason
    }
}
