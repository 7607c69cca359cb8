import Auth
import Signal

/// Decides whether an `/rtc` request may join, before any WebSocket exists. `/rtc/validate` and
/// a refused upgrade answer with the same status and plain-text reason, as LiveKit does.
struct RTCAdmission: Sendable {
    struct Refusal: Error, Sendable {
        var status: Int
        var reason: String
    }

    struct Admitted: Sendable {
        var roomName: String
        var parameters: JoinParameters
        /// The session a resuming client asks for.
        var resumeSid: String?
        /// `/rtc/v1`: one peer connection.
        var singlePeerConnection = false
        /// `/rtc/v1`: the client's first offer, sent with its join request.
        var publisherOffer: Livekit_SessionDescription?
    }

    let tokens: AccessToken
    let rooms: RoomManager
    var resources: ResourceLimits?
    var drain: DrainState?

    /// A request's valid token when it is a viewer's (its grant cannot publish): in a cluster,
    /// such a client is served by an edge copy of a room that lives on another node.
    func viewerToken(target: String, authorization: String?) -> String? {
        guard let token = AccessToken.bearer(authorization) ?? RTCQuery(target: target).accessToken,
              let claims = try? tokens.verify(token), claims.grant.canPublish == false else { return nil }
        return token
    }

    /// The room a request's valid token names, without any other check: where a cluster routes it.
    func roomName(target: String, authorization: String?) -> String? {
        let query = RTCQuery(target: target)
        guard let token = AccessToken.bearer(authorization) ?? query.accessToken,
              let claims = try? tokens.verify(token), let room = claims.grant.room, !room.isEmpty else { return nil }
        return room
    }

    func admit(target: String, authorization: String?) async -> Result<Admitted, Refusal> {
        let query = RTCQuery(target: target)
        // The Rust SDK sends the token only as a header, the JS SDK only in the query.
        guard let token = AccessToken.bearer(authorization) ?? query.accessToken else {
            return .failure(Refusal(status: 401, reason: "no access token: use Authorization: Bearer <jwt> or ?access_token="))
        }
        let claims: AccessTokenClaims
        do {
            claims = try tokens.verify(token)
        } catch {
            return .failure(Refusal(status: 401, reason: "invalid token: \(error.description)"))
        }
        let grant = claims.grant
        guard grant.mayJoin else { return .failure(Refusal(status: 401, reason: "permissions denied: the token lacks roomJoin")) }
        guard let room = grant.room, !room.isEmpty else {
            return .failure(Refusal(status: 401, reason: "permissions denied: the token names no room"))
        }
        guard !claims.identity.isEmpty else { return .failure(Refusal(status: 401, reason: "the token has no identity (sub)")) }
        // `/rtc/v1` options come in `join_request`, read once the token is known to be good.
        if let why = query.joinRequestError { return .failure(Refusal(status: 400, reason: why)) }
        // A draining server takes no new participants; a resume continues a session it has.
        if let drain, drain.isDraining, query.resumeSid == nil {
            return .failure(Refusal(status: 503, reason: DrainState.reason))
        }
        // Refused here, before the upgrade, while a plain HTTP 503 can still say why.
        if let refusal = await resources?.admissionRefusal() {
            return .failure(Refusal(status: refusal.httpStatus, reason: refusal.description))
        }
        do {
            try await rooms.checkAdmission(roomName: room, identity: claims.identity, hidden: grant.isHidden)
        } catch {
            return .failure(Refusal(status: error.httpStatus, reason: error.description))
        }
        let kind: LiveKitKind = LiveKitKind(claims.kind)
        let parameters = JoinParameters(
            identity: claims.identity, name: claims.name ?? "", metadata: claims.metadata ?? "",
            attributes: claims.attributes ?? [:], grant: grant, kind: kind.value, autoSubscribe: query.autoSubscribe,
            protocolVersion: query.protocolVersion)
        var admitted = Admitted(roomName: room, parameters: parameters, resumeSid: query.resumeSid)
        admitted.singlePeerConnection = query.isV1
        if let request = query.joinRequest, request.hasPublisherOffer, !request.publisherOffer.sdp.isEmpty {
            admitted.publisherOffer = request.publisherOffer
        }
        return .success(admitted)
    }
}

import LiveKitProto

/// The token's `kind` claim ("standard", "agent", ...) as a ParticipantInfo.Kind.
struct LiveKitKind {
    var value: Livekit_ParticipantInfo.Kind

    init(_ claim: String?) {
        switch claim?.lowercased() ?? "" {
        case "ingress": value = .ingress
        case "egress": value = .egress
        case "sip": value = .sip
        case "agent": value = .agent
        default: value = .standard
        }
    }
}
