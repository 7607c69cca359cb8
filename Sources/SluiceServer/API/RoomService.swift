import MediaPlane
import Auth
import LiveKitProto
import Signal

/// LiveKit's RoomService over Twirp (`/twirp/livekit.RoomService/*`).
///
/// Grants follow LiveKit: CreateRoom/DeleteRoom need `roomCreate`, ListRooms `roomList`, and the
/// per-room methods `roomAdmin` with `room` naming the request's room.
struct RoomService: Sendable {
    let rooms: RoomManager
    /// Live media, for the methods that act on connections (SendData, UpdateSubscriptions).
    let media: MediaSessions?
    /// Set while draining: CreateRoom is refused (Twirp `unavailable`, HTTP 503).
    var drain: DrainState? = nil
    /// In a cluster, ListRooms and ListParticipants read every node's rooms from the shared state
    /// (the other methods reach the room's node through `ClusterTwirpRouting`).
    var cluster: ClusterNode? = nil

    func router() -> TwirpRouter {
        var r = TwirpRouter(service: "livekit.RoomService")
        r.register("CreateRoom", Livekit_CreateRoomRequest.self) { req, claims in
            try require(claims.grant.mayCreateRooms, "roomCreate")
            // Automatic egress would record the room without anyone asking again; accepting it
            // and recording nothing would lose the caller's recording, so it is refused plainly.
            // The playout-delay, sync_streams, node_id and preset options are accepted but not acted
            // on: they tune LiveKit's media path (a playout-delay header extension, A/V sync, node
            // placement), and a room works without them.
            if req.hasEgress {
                throw TwirpError(.unimplemented, "automatic egress on room creation is not implemented; "
                                 + "start one with StartRoomCompositeEgress once the room exists")
            }
            if let drain, drain.isDraining { throw TwirpError(.unavailable, DrainState.reason) }
            let room = try await call {
                try await rooms.createRoom(name: req.name, emptyTimeout: req.emptyTimeout,
                                           departureTimeout: req.departureTimeout,
                                           maxParticipants: req.maxParticipants, metadata: req.metadata)
            }
            return room.proto
        }
        r.register("ListRooms", Livekit_ListRoomsRequest.self) { req, claims in
            try require(claims.grant.mayListRooms, "roomList")
            var res = Livekit_ListRoomsResponse()
            if let cluster {
                res.rooms = try await sharedState { try await cluster.listRooms(names: req.names) }
            } else {
                res.rooms = await rooms.listRooms(names: req.names).map(\.proto)
            }
            return res
        }
        r.register("DeleteRoom", Livekit_DeleteRoomRequest.self) { req, claims in
            try require(claims.grant.mayCreateRooms, "roomCreate")
            try await call { try await rooms.deleteRoom(name: req.room) }
            return Livekit_DeleteRoomResponse()
        }
        r.register("UpdateRoomMetadata", Livekit_UpdateRoomMetadataRequest.self) { req, claims in
            try requireAdmin(claims, room: req.room)
            let room = try await call { try await rooms.updateMetadata(name: req.room, metadata: req.metadata) }
            return room.proto
        }
        r.register("ListParticipants", Livekit_ListParticipantsRequest.self) { req, claims in
            try requireAdmin(claims, room: req.room)
            var res = Livekit_ListParticipantsResponse()
            if let cluster {
                guard let participants = try await sharedState({ try await cluster.participants(room: req.room) }) else {
                    throw TwirpError(.notFound, RoomError.notFound(req.room).description)
                }
                res.participants = participants
            } else {
                res.participants = try await call { try await rooms.participants(roomName: req.room) }
            }
            return res
        }
        r.register("GetParticipant", Livekit_RoomParticipantIdentity.self) { req, claims in
            try requireAdmin(claims, room: req.room)
            return try await call { try await rooms.participant(roomName: req.room, identity: req.identity) }
        }
        r.register("RemoveParticipant", Livekit_RoomParticipantIdentity.self) { req, claims in
            try requireAdmin(claims, room: req.room)
            try await call { try await rooms.removeParticipant(roomName: req.room, identity: req.identity) }
            return Livekit_RemoveParticipantResponse()
        }
        r.register("UpdateParticipant", Livekit_UpdateParticipantRequest.self) { req, claims in
            try requireAdmin(claims, room: req.room)
            return try await call {
                try await rooms.updateParticipant(
                    roomName: req.room, identity: req.identity, name: req.name.isEmpty ? nil : req.name,
                    metadata: req.metadata.isEmpty ? nil : req.metadata, attributes: req.attributes,
                    permission: req.hasPermission ? req.permission : nil)
            }
        }
        r.register("MutePublishedTrack", Livekit_MuteRoomTrackRequest.self) { req, claims in
            try requireAdmin(claims, room: req.room)
            let track = try await call {
                try await rooms.mutePublishedTrack(roomName: req.room, identity: req.identity, trackSid: req.trackSid,
                                                   muted: req.muted)
            }
            return Livekit_MuteRoomTrackResponse.with { $0.track = track }
        }
        r.register("UpdateSubscriptions", Livekit_UpdateSubscriptionsRequest.self) { req, claims in
            try requireAdmin(claims, room: req.room)
            _ = try await call { try await rooms.participant(roomName: req.room, identity: req.identity) }
            let sids = req.trackSids + req.participantTracks.flatMap(\.trackSids)
            // The member is on one of the room's hubs (one per worker it spans).
            let identity = req.identity, subscribe = req.subscribe
            for hub in await media?.hubs(room: req.room) ?? [] {
                let found = (try? await hub.worker.run { () -> Bool in
                    guard let member = hub.member(identity: identity) else { return false }
                    hub.setSubscribed(member, trackSids: sids, subscribe: subscribe)
                    return true
                }) ?? false
                if found { break }
            }
            return Livekit_UpdateSubscriptionsResponse()
        }
        r.register("SendData", Livekit_SendDataRequest.self) { req, claims in
            try requireAdmin(claims, room: req.room)
            guard await rooms.room(named: req.room) != nil else { throw TwirpError(.notFound, "room \(req.room) not found") }
            guard req.data.count <= 65_535 else { throw TwirpError(.invalidArgument, "data is larger than 64 KiB") }
            // The deprecated destination_sids (still sent by the Node SDK when a caller gives
            // `destinationSids`) name participants by sid; LiveKit delivers to them as well.
            var destinations = req.destinationIdentities
            if !req.destinationSids.isEmpty {
                let present = (try? await rooms.participants(roomName: req.room)) ?? []
                for info in present where req.destinationSids.contains(info.sid) && !destinations.contains(info.identity) {
                    destinations.append(info.identity)
                }
                guard !destinations.isEmpty else {
                    throw TwirpError(.notFound, "no participant of room \(req.room) has any of the sids \(req.destinationSids)")
                }
            }
            var packet = Livekit_DataPacket()
            packet.kind = req.kind
            packet.destinationIdentities = destinations
            packet.value = .user(Livekit_UserPacket.with {
                $0.payload = req.data
                $0.destinationIdentities = destinations
                if req.hasTopic { $0.topic = req.topic }
                $0.nonce = req.nonce
            })
            if let hub = await media?.hub(room: req.room) {
                nonisolated(unsafe) var outgoing = packet
                let reliable = req.kind == .reliable
                _ = try? await hub.worker.run { hub.relay(&outgoing, reliable: reliable, from: nil) }
            }
            return Livekit_SendDataResponse()
        }
        // LiveKit methods that need what Sluice does not have (a second room to carry a
        // participant's session into, an agent runtime for RPC).
        r.refuse("ForwardParticipant", "forwarding a participant's tracks into another room is not supported")
        r.refuse("MoveParticipant", "moving a participant's session into another room is not supported")
        r.refuse("PerformRpc", "server-initiated RPC to participants is not supported")
        return r
    }

    private func require(_ granted: Bool, _ grant: String) throws(TwirpError) {
        guard granted else { throw TwirpError(.permissionDenied, "access token lacks the \(grant) grant") }
    }

    private func requireAdmin(_ claims: AccessTokenClaims, room: String) throws(TwirpError) {
        guard claims.grant.mayAdminister(room: room) else {
            throw TwirpError(.permissionDenied, "access token lacks the roomAdmin grant for room \"\(room)\"")
        }
    }

    /// A read of the cluster's shared state; Redis being away is the caller's 503, not a 500.
    private func sharedState<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw TwirpError(.unavailable, "the cluster's shared state (Redis) is unavailable: \(error)")
        }
    }

    /// Maps room errors to Twirp codes.
    private func call<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RoomError {
            switch error {
            case .invalidName(let why): throw TwirpError(.invalidArgument, why)
            case .notFound, .participantNotFound, .trackNotFound: throw TwirpError(.notFound, error.description)
            case .storage: throw TwirpError(.internalError, error.description)
            }
        }
    }
}

