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

    func register(on router: Router<BasicRequestContext>) {
        let page = ByteBuffer(bytes: PackageResources.dashboard_html)
        router.get("/admin/dashboard") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                     body: .init(byteBuffer: page))
        }
        router.get("/admin/stats") { request, _ in await self.stats(request) }
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
