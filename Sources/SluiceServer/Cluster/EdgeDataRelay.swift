import Auth
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Data packets (chat, reactions) between a room's origin and its edge nodes: a node posts each
/// packet its own members sent to `POST /edge/data?room=R` on the other node, in order (one
/// serial sender per target node), signed with a short-lived room-admin token made from the
/// cluster's API key, so only a node of the cluster can inject packets into a room. The origin
/// delivers what an edge sent to its own members and passes it on to the room's other edges.
/// Reliable over TCP; a node that cannot be reached loses its packets (logged by NodeHTTP's caller).
final class EdgeDataSender: Sendable {
    struct Packet: Sendable {
        var room: String
        var bytes: [UInt8]
        var reliable: Bool
        var destinations: [String]
        var senderSid: String?
    }

    private let continuation: AsyncStream<Packet>.Continuation

    init(targetURL: String, nodeID: String, apiKey: String, apiSecret: String) {
        let (stream, continuation) = AsyncStream.makeStream(of: Packet.self, bufferingPolicy: .bufferingNewest(1024))
        self.continuation = continuation
        Task {
            for await packet in stream {
                var components = URLComponents()
                var query = [URLQueryItem(name: "room", value: packet.room),
                             URLQueryItem(name: "reliable", value: packet.reliable ? "1" : "0")]
                if let sender = packet.senderSid { query.append(URLQueryItem(name: "sender", value: sender)) }
                for identity in packet.destinations { query.append(URLQueryItem(name: "to", value: identity)) }
                components.queryItems = query
                let claims = AccessTokenClaims(apiKey: apiKey, identity: "node:" + nodeID,
                                               expires: Date().timeIntervalSince1970 + 300,
                                               video: VideoGrant(roomAdmin: true, room: packet.room))
                guard let token = try? AccessToken.sign(claims, secret: apiSecret) else { continue }
                _ = try? await NodeHTTP.send(.POST, targetURL + "/edge/data?" + (components.percentEncodedQuery ?? ""),
                                             authorization: "Bearer " + token, contentType: "application/octet-stream",
                                             body: ByteBuffer(bytes: packet.bytes), from: nodeID)
            }
        }
    }

    func send(_ packet: Packet) { continuation.yield(packet) }

    deinit { continuation.finish() }
}

/// `POST /edge/data`: a data packet from another node of the cluster for one of this node's
/// rooms (see `EdgeDataSender`).
struct EdgeDataRoute: Sendable {
    let origins: EdgeOrigins
    let edges: EdgeRooms
    let tokens: AccessToken

    static let maxBody = 64 * 1024

    func register(on router: Router<BasicRequestContext>) {
        router.post("/edge/data") { request, _ in await self.answer(request) }
    }

    private func answer(_ request: Request) async -> Response {
        let query = request.uri.queryParameters
        guard let room = query.get("room"), !room.isEmpty else { return Self.plain(.badRequest, "room is required") }
        guard let token = AccessToken.bearer(request.headers[.authorization]), let claims = try? tokens.verify(token),
              claims.sub?.hasPrefix("node:") == true, claims.grant.roomAdmin == true, claims.grant.room == room else {
            return Self.plain(.unauthorized, "a node's room-admin token for the room is required")
        }
        guard let body = try? await request.body.collect(upTo: Self.maxBody) else {
            return Self.plain(.contentTooLarge, "data packet too large")
        }
        let bytes = Array(buffer: body)
        let reliable = query.get("reliable") != "0"
        let destinations = Set(query.getAll("to").map { String($0) })
        let sender = query.get("sender")
        let from = request.headers[HTTPField.Name(NodeHTTP.forwardedHeader)!]
        if await edges.deliver(room: room, bytes, reliable: reliable, destinations: destinations, senderSid: sender) {
            return Self.plain(.ok, "delivered")
        }
        if await origins.deliver(room: room, bytes, reliable: reliable, destinations: destinations, senderSid: sender, fromNode: from) {
            return Self.plain(.ok, "delivered")
        }
        return Self.plain(.notFound, "room \(room) is not served here")
    }

    private static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
