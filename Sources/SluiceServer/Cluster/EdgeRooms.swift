import EdgeLink
import EdgeRelay
import Foundation
import LiveKitProto
import Logging
import MediaPlane
import NIOCore
import Signal

/// The edge side of the edge relay on this node: for a room that lives on another node (its
/// origin), the viewers connecting here join a local copy of the room (an "edge room"): its
/// remote participants are the origin's (and other edges' viewers), read from the cluster's
/// shared state, and its tracks are mirrors of the origin's, fed once per (this node, room)
/// over an edge link (`EdgeRoomFeed`). Signalling ends here, media comes from here; the viewers
/// this node serves are written to the shared state, so ListParticipants on any node lists them.
actor EdgeRooms {
    let nodeID: String
    let apiSecret: String
    let linkHost: String
    let apiKey: String
    private let rooms: RoomManager
    private let media: MediaSessions
    private let cluster: ClusterNode
    private let logger: Logger

    /// Touched only inside the actor (the loop task hands it back to the actor).
    private final class Edge: @unchecked Sendable {
        let room: String
        let origin: NodeInfo
        let feed: EdgeRoomFeed
        var idleSince: ContinuousClock.Instant?
        var originMissing = 0
        var loop: Task<Void, Never>?
        init(room: String, origin: NodeInfo, feed: EdgeRoomFeed) {
            self.room = room
            self.origin = origin
            self.feed = feed
        }
    }
    private var edges: [String: Edge] = [:]
    private var opening: [String: Task<Bool, Never>] = [:]

    /// How often the copy follows the origin's participants and tracks.
    static let syncInterval: Duration = .milliseconds(250)
    /// An edge room without viewers closes after this long (its link and mirrors end).
    static let idleTimeout: Duration = .seconds(10)

    init(nodeID: String, apiKey: String, apiSecret: String, linkHost: String, rooms: RoomManager, media: MediaSessions,
         cluster: ClusterNode, logger: Logger) {
        self.nodeID = nodeID
        self.apiKey = apiKey
        self.apiSecret = apiSecret
        self.linkHost = linkHost
        self.rooms = rooms
        self.media = media
        self.cluster = cluster
        self.logger = logger
    }

    /// Makes sure this node has an edge copy of `room` (whose origin is `origin`), opening one
    /// with `authorization` (the viewer's own token, which the origin checks). False when it
    /// cannot: the caller relays the viewer's signalling to the origin instead.
    func serve(room: String, origin: NodeInfo, authorization: String?) async -> Bool {
        if let edge = edges[room] {
            if edge.origin.id == origin.id { return true }
            await close(edge, why: "the room moved to another node")
        }
        if let pending = opening[room] { return await pending.value }
        let task = Task { await self.open(room: room, origin: origin, authorization: authorization) }
        opening[room] = task
        let ok = await task.value
        opening[room] = nil
        return ok
    }

    private func open(room: String, origin: NodeInfo, authorization: String?) async -> Bool {
        guard let linkHostOfOrigin = origin.edgeLinkHost else { return false }
        // 1. The origin opens its end and says on which port.
        let port: UInt16
        do {
            var components = URLComponents()
            components.queryItems = [URLQueryItem(name: "room", value: room), URLQueryItem(name: "node", value: nodeID)]
            let answer = try await NodeHTTP.send(.POST, origin.url + "/edge/link?" + (components.percentEncodedQuery ?? ""),
                                                 authorization: authorization, from: nodeID)
            guard answer.status == 200, let value = UInt16(String(buffer: answer.body).trimmingCharacters(in: .whitespacesAndNewlines))
            else {
                logger.warning("edge: origin refused a link", metadata: [
                    "room": "\(room)", "origin": "\(origin.id)", "status": "\(answer.status)", "body": "\(String(buffer: answer.body))"])
                return false
            }
            port = value
        } catch {
            logger.warning("edge: origin unreachable for a link", metadata: ["room": "\(room)", "error": "\(error)"])
            return false
        }
        // 2. The local copy: the room, its media, this end of the link.
        await cluster.setEdge(room, true)
        await rooms.markEdge(room, true)
        do {
            _ = try await rooms.createRoom(name: room)
        } catch {
            logger.warning("edge: local room not opened", metadata: ["room": "\(room)", "error": "\(error)"])
            await rooms.markEdge(room, false)
            await cluster.setEdge(room, false)
            return false
        }
        let hub = await media.openEdgeRoom(room)
        let feed: EdgeRoomFeed
        do {
            let endpoint = try EdgeLinkEndpoint(keys: EdgeLinkKeys(apiSecret: apiSecret, originNode: origin.id, edgeNode: nodeID, room: room),
                                                asOrigin: false, host: linkHost, port: 0)
            try endpoint.connect(host: linkHostOfOrigin, port: port)
            feed = EdgeRoomFeed(hub: hub, endpoint: endpoint, logger: logger)
        } catch {
            logger.warning("edge: link not opened", metadata: ["room": "\(room)", "error": "\(error)"])
            await media.closeEdgeRoom(room)
            try? await rooms.deleteRoom(name: room)
            await rooms.markEdge(room, false)
            await cluster.setEdge(room, false)
            return false
        }
        feed.start()
        // What this node's viewers send (chat) goes to the origin, which passes it on.
        let toOrigin = EdgeDataSender(targetURL: origin.url, nodeID: nodeID, apiKey: apiKey, apiSecret: apiSecret)
        _ = try? await hub.worker.run {
            hub.onDataRelayed = { bytes, reliable, destinations, sender in
                toOrigin.send(.init(room: room, bytes: bytes, reliable: reliable, destinations: Array(destinations), senderSid: sender))
            }
        }
        let edge = Edge(room: room, origin: origin, feed: feed)
        edges[room] = edge
        logger.info("edge room opened", metadata: ["room": "\(room)", "origin": "\(origin.id)", "origin_port": "\(port)"])
        // The first viewer joins a copy that already has the origin's participants and tracks.
        await sync(edge)
        edge.loop = Task { [weak self] in
            var ticks = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.syncInterval)
                guard let self else { return }
                ticks += 1
                // The link is UDP: its subscriptions and wanted layers are restated every second.
                if ticks % 4 == 0 { edge.feed.link.refresh() }
                guard await self.tick(edge) else { return }
            }
        }
        return true
    }

    /// A data packet from the origin (its members', or another edge's viewers'): to this node's
    /// viewers of the room. False when this node holds no edge copy of it.
    func deliver(room: String, _ bytes: [UInt8], reliable: Bool, destinations: Set<String>, senderSid: String?) -> Bool {
        guard let hub = edges[room]?.feed.hub else { return false }
        hub.worker.execute { hub.deliverRelayed(bytes, reliable: reliable, destinations: destinations, senderSid: senderSid) }
        return true
    }

    /// One sync; false once the edge closed.
    private func tick(_ edge: Edge) async -> Bool {
        guard edges[edge.room] === edge else { return false }
        await sync(edge)
        return edges[edge.room] === edge
    }

    private func sync(_ edge: Edge) async {
        // The origin's participants and the other edges' viewers, as the shared state has them.
        let remote: [Livekit_ParticipantInfo]
        do {
            guard let listed = try await cluster.participants(room: edge.room, excludingEdge: nodeID) else {
                edge.originMissing += 1
                // A few misses in a row (not one slow write): the room ended at its origin.
                if edge.originMissing >= 8 { await close(edge, why: "the room ended at its origin") }
                return
            }
            remote = listed
            edge.originMissing = 0
        } catch {
            return  // Redis away for a moment: the copy stays as it is
        }
        await rooms.setRemoteParticipants(roomName: edge.room, remote)
        // The room's metadata is the origin's (UpdateRoomMetadata goes there): its viewers here
        // get the RoomUpdate too.
        if let origin = try? await cluster.listRooms(names: [edge.room]).first,
           await rooms.room(named: edge.room)?.metadata != origin.metadata {
            _ = try? await rooms.updateMetadata(name: edge.room, metadata: origin.metadata)
        }
        let publishers = remote.filter { !$0.tracks.isEmpty }.map {
            EdgeRoomFeed.Publisher(sid: $0.sid, identity: $0.identity, trackSids: $0.tracks.map(\.sid))
        }
        await edge.feed.sync(publishers)
        let viewers = (try? await rooms.localParticipants(roomName: edge.room)) ?? []
        await cluster.publishEdgeViewers(room: edge.room, viewers)
        if viewers.isEmpty {
            let now = ContinuousClock.now
            if let since = edge.idleSince {
                if now - since >= Self.idleTimeout { await close(edge, why: "no viewers left") }
            } else {
                edge.idleSince = now
            }
        } else {
            edge.idleSince = nil
        }
    }

    private func close(_ edge: Edge, why: String) async {
        guard edges[edge.room] === edge else { return }
        edges[edge.room] = nil
        edge.loop?.cancel()
        let hub = edge.feed.hub
        _ = try? await hub.worker.run { hub.onDataRelayed = nil }
        await edge.feed.close()
        await rooms.setRemoteParticipants(roomName: edge.room, [])
        try? await rooms.deleteRoom(name: edge.room)
        await media.closeEdgeRoom(edge.room)
        await rooms.markEdge(edge.room, false)
        await cluster.setEdge(edge.room, false)
        logger.info("edge room closed", metadata: ["room": "\(edge.room)", "why": "\(why)"])
    }

    struct RoomCounters: Encodable {
        var room: String
        var origin: String
        var tracks: [EdgeMirrorLink.TrackCounters]
    }

    func counters() async -> [RoomCounters] {
        var result: [RoomCounters] = []
        for edge in edges.values {
            result.append(RoomCounters(room: edge.room, origin: edge.origin.id, tracks: await edge.feed.counters()))
        }
        return result.sorted { $0.room < $1.room }
    }
}
