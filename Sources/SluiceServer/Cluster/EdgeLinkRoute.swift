import Auth
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /edge/link?room=R&node=N`: an edge node asks this node (the room's origin) for a link
/// to serve its viewers of R. The Authorization is the edge's first viewer's own token: this
/// node verifies it and that it is for R, so nothing is opened for a caller that could not join
/// the room itself. Answers the port of the new link (plain text).
struct EdgeLinkRoute: Sendable {
    let origins: EdgeOrigins
    let tokens: AccessToken
    /// The registry: only a live node of the cluster gets a link (each costs a socket and a
    /// thread, so a token holder must not be able to open one per made-up node id).
    let cluster: ClusterNode

    func register(on router: Router<BasicRequestContext>) {
        router.post("/edge/link") { request, _ in await self.answer(request) }
    }

    private func answer(_ request: Request) async -> Response {
        guard let room = request.uri.queryParameters.get("room"), !room.isEmpty,
              let node = request.uri.queryParameters.get("node"), !node.isEmpty else {
            return Self.plain(.badRequest, "room and node are required")
        }
        guard let token = AccessToken.bearer(request.headers[.authorization]), let claims = try? tokens.verify(token) else {
            return Self.plain(.unauthorized, "a valid access token for the room is required")
        }
        guard claims.grant.room == room, claims.grant.roomJoin == true else {
            return Self.plain(.forbidden, "the token does not grant joining \(room)")
        }
        do {
            guard node != cluster.id, let edge = try await cluster.liveNodes().first(where: { $0.id == node }) else {
                return Self.plain(.forbidden, "\(node) is not a live node of this cluster")
            }
            let port = try await origins.open(room: room, edgeNode: node, edgeURL: edge.url)
            return Self.plain(.ok, "\(port)")
        } catch EdgeOrigins.OpenError.noMediaRoom {
            return Self.plain(.notFound, "room \(room) has no media on this node")
        } catch {
            return Self.plain(.serviceUnavailable, "edge link not opened: \(error)")
        }
    }

    private static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
