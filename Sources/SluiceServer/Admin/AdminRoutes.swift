import Auth
import Foundation
import HTTPTypes
import Hummingbird
import MediaPlane
import NIOCore

/// The operator's live view:
///
///     GET /admin/stats       JSON: every open room's stats (RoomStats), sampled every 2 s.
///                            Bearer token with the roomList grant (as ListRooms wants).
///     GET /admin/dashboard   the dashboard page; it reads the token from its URL fragment
///                            (#token=...) and polls /admin/stats and ListEgress with it.
///     GET /admin/recordings/{egress_id}   a recording's file (RecordingDownload), linked
///                            from the dashboard.
///
/// The page holds no data itself, so it is served without a token; everything it shows comes
/// through the token-checked endpoints.
struct AdminRoutes: Sendable {
    let media: MediaSessions
    let tokens: AccessToken
    var edgeOrigins: EdgeOrigins? = nil
    var edgeRooms: EdgeRooms? = nil

    func register(on router: Router<BasicRequestContext>) {
        let page = ByteBuffer(bytes: PackageResources.dashboard_html)
        router.get("/admin/dashboard") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                     body: .init(byteBuffer: page))
        }
        router.get("/admin/stats") { request, _ in await self.stats(request) }
        router.get("/admin/edge") { request, _ in await self.edge(request) }
    }

    /// The edge relay's counters: per link this node serves as a room's origin, packets sent
    /// per layer of each track; per edge room it holds, packets received per layer over the
    /// link and what its viewers were sent. A layer crosses to a node once, whatever its viewers.
    private func edge(_ request: Request) async -> Response {
        if let refusal = refusal(request) { return refusal }
        struct Body: Encodable {
            var origin: [EdgeOrigins.LinkCounters]
            var edge: [EdgeRooms.RoomCounters]
        }
        let body = Body(origin: await edgeOrigins?.counters() ?? [], edge: await edgeRooms?.counters() ?? [])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let json = try? encoder.encode(body) else { return Self.plain(.internalServerError, "internal error") }
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }

    /// Nil when the request carries a token with the roomList grant, else the refusal.
    private func refusal(_ request: Request) -> Response? {
        guard let token = AccessToken.bearer(request.headers[.authorization]) else {
            return Self.plain(.unauthorized, "missing Authorization: Bearer <access token with roomList>")
        }
        guard let claims = try? tokens.verify(token) else { return Self.plain(.unauthorized, "invalid access token") }
        guard claims.grant.roomList == true else { return Self.plain(.forbidden, "access token lacks the roomList grant") }
        return nil
    }

    private func stats(_ request: Request) async -> Response {
        guard let token = AccessToken.bearer(request.headers[.authorization]) else {
            return Self.plain(.unauthorized, "missing Authorization: Bearer <access token with roomList>")
        }
        let claims: AccessTokenClaims
        do {
            claims = try tokens.verify(token)
        } catch {
            return Self.plain(.unauthorized, "invalid access token: \(error)")
        }
        guard claims.grant.roomList == true else {
            return Self.plain(.forbidden, "access token lacks the roomList grant")
        }
        struct Body: Encodable {
            var rooms: [RoomStats]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let json = try? encoder.encode(Body(rooms: await media.stats())) else {
            return Self.plain(.internalServerError, "internal error")
        }
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }

    private static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }
}
