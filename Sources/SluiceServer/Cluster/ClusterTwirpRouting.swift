import Auth
import Foundation
import HTTPTypes
import Hummingbird
import LiveKitProto
import Logging
import NIOCore
import NIOHTTP1
import SwiftProtobuf

/// Sends a RoomService or Egress call about a room that lives on another node to that node, with
/// the caller's body and Authorization unchanged, and hands back the node's answer. Calls about
/// rooms that live here, or nowhere, are served here as on a single node.
struct ClusterTwirpRouting: Sendable {
    let node: ClusterNode
    let tokens: AccessToken
    let logger: Logger

    /// What a request names: a room (`place`: a CreateRoom may put it on another node) or an egress.
    enum Subject {
        case room(String, place: Bool)
        /// A call about one participant: an edge node's viewer is served by that node.
        case participant(room: String, identity: String)
        case egress(String)
    }

    /// Reads the room or egress a method acts on from its body; nil for methods served here
    /// (ListRooms and ListParticipants read the shared state, ListEgress this node's history).
    static func subject(service: String, method: String, body: [UInt8], encoding: TwirpEncoding) -> Subject? {
        func room<M: SwiftProtobuf.Message>(_ type: M.Type, _ field: (M) -> String, place: Bool = false) -> Subject? {
            (try? encoding.decode(type, from: body)).map { .room(field($0), place: place) }
        }
        func egress<M: SwiftProtobuf.Message>(_ type: M.Type, _ field: (M) -> String) -> Subject? {
            (try? encoding.decode(type, from: body)).map { .egress(field($0)) }
        }
        switch (service, method) {
        case ("livekit.RoomService", "CreateRoom"): return room(Livekit_CreateRoomRequest.self, \.name, place: true)
        case ("livekit.RoomService", "DeleteRoom"): return room(Livekit_DeleteRoomRequest.self, \.room)
        case ("livekit.RoomService", "UpdateRoomMetadata"): return room(Livekit_UpdateRoomMetadataRequest.self, \.room)
        case ("livekit.RoomService", "GetParticipant"), ("livekit.RoomService", "RemoveParticipant"):
            return (try? encoding.decode(Livekit_RoomParticipantIdentity.self, from: body)).map {
                .participant(room: $0.room, identity: $0.identity)
            }
        case ("livekit.RoomService", "UpdateParticipant"):
            return (try? encoding.decode(Livekit_UpdateParticipantRequest.self, from: body)).map {
                .participant(room: $0.room, identity: $0.identity)
            }
        case ("livekit.RoomService", "MutePublishedTrack"): return room(Livekit_MuteRoomTrackRequest.self, \.room)
        case ("livekit.RoomService", "UpdateSubscriptions"): return room(Livekit_UpdateSubscriptionsRequest.self, \.room)
        case ("livekit.RoomService", "SendData"): return room(Livekit_SendDataRequest.self, \.room)
        case ("livekit.Egress", "StartTrackEgress"): return room(Livekit_TrackEgressRequest.self, \.roomName)
        case ("livekit.Egress", "StartParticipantEgress"): return room(Livekit_ParticipantEgressRequest.self, \.roomName)
        case ("livekit.Egress", "StartTrackCompositeEgress"): return room(Livekit_TrackCompositeEgressRequest.self, \.roomName)
        case ("livekit.Egress", "StartRoomCompositeEgress"): return room(Livekit_RoomCompositeEgressRequest.self, \.roomName)
        case ("livekit.Egress", "UpdateLayout"): return egress(Livekit_UpdateLayoutRequest.self, \.egressID)
        case ("livekit.Egress", "UpdateStream"): return egress(Livekit_UpdateStreamRequest.self, \.egressID)
        case ("livekit.Egress", "StopEgress"): return egress(Livekit_StopEgressRequest.self, \.egressID)
        default: return nil
        }
    }

    /// The other node's answer, or nil to serve `request` (its body re-read from `body`) here.
    func forwardIfElsewhere(_ request: Request, service: String, method: String,
                            body: ByteBuffer) async -> Response? {
        // Served here: a call another node already forwarded, one without a valid token (refused
        // here as on a single node), and one of a method with no room to route by.
        guard request.headers[.init(NodeHTTP.forwardedHeader)!] == nil,
              let token = AccessToken.bearer(request.headers[.authorization]), (try? tokens.verify(token)) != nil,
              let encoding = try? TwirpEncoding(contentType: request.headers[.contentType]),
              let subject = Self.subject(service: service, method: method, body: Array(buffer: body), encoding: encoding)
        else { return nil }
        let route: ClusterNode.Route
        do {
            switch subject {
            case .room(let name, let place):
                guard !name.isEmpty else { return nil }
                route = try await node.route(room: name, place: place)
            case .participant(let name, let identity):
                guard !name.isEmpty else { return nil }
                if let edge = try await node.edgeRoute(room: name, identity: identity) {
                    route = edge
                } else {
                    route = try await node.route(room: name, place: false)
                }
            case .egress(let id):
                route = try await node.egressRoute(id)
            }
        } catch {
            return TwirpRouter.errorResponse(TwirpError(.unavailable, "the cluster's shared state (Redis) is unavailable"))
        }
        guard case .remote(let owner) = route else { return nil }
        do {
            let answer = try await NodeHTTP.send(.POST, owner.url + "/twirp/\(service)/\(method)",
                                                 authorization: request.headers[.authorization],
                                                 contentType: request.headers[.contentType], body: body, from: node.id)
            var headers = HTTPFields()
            if let type = answer.contentType { headers[.contentType] = type }
            return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: answer.body))
        } catch {
            logger.warning("cluster: forwarding to the room's node failed", metadata: [
                "node": "\(owner.id)", "method": "\(service)/\(method)", "error": "\(error)"])
            return TwirpRouter.errorResponse(TwirpError(.unavailable, "the room's node \(owner.id) is unreachable"))
        }
    }
}
