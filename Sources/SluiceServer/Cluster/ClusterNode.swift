import Foundation
import LiveKitProto
import Logging
import Redis
import ServiceLifecycle
import Signal
import SwiftProtobuf

/// This node's membership of a Sluice cluster: its heartbeat in the registry, the placement of
/// rooms on nodes, the shared copy of its own rooms and participants, and the clean-up of nodes
/// that stopped heartbeating. All its Redis traffic runs on the `RedisClient`'s own thread.
actor ClusterNode {
    /// Where a room's signalling and API calls go.
    enum Route: Sendable, Equatable {
        case local
        case remote(NodeInfo)
    }

    nonisolated let id: String
    nonisolated let url: String
    /// Where this node's edge links listen (advertised in the registry); nil: no edge relay.
    nonisolated let edgeLinkHost: String?
    private let redis: RedisClient
    private let rooms: RoomManager
    private let logger: Logger
    private let startedAtMs = Int64(Date().timeIntervalSince1970 * 1000)
    private var cpu = ProcessCPU()
    private var lastCPU = 0.0
    /// Set by room events: the shared copy is rewritten at the next tick instead of the next heartbeat.
    private var dirty = true
    /// Rooms this node published, to remove the ones that closed.
    private var published: Set<String> = []
    /// Rooms this node holds as an edge (copies of rooms that live elsewhere): never published
    /// as this node's; their local viewers are shared under `ClusterKeys.roomEdges` instead.
    private var edgeRooms: Set<String> = []

    static let heartbeat: Duration = .seconds(1)
    /// A node whose heartbeat is this old is dead (five missed beats).
    static let nodeTTLMs = 5000
    /// A room's shared copy outlives its node's silence a little, so readers never see a room
    /// flicker away between two writes.
    static let roomTTLMs = 8000
    /// How often a room change is pushed at most (room events mark it).
    static let publishTick: Duration = .milliseconds(200)

    init(id: String, url: String, edgeLinkHost: String? = nil, redis: RedisClient, rooms: RoomManager, logger: Logger) {
        self.id = id
        self.url = url
        self.edgeLinkHost = edgeLinkHost
        self.redis = redis
        self.rooms = rooms
        self.logger = logger
    }

    /// Registers at once, so a misconfigured Redis stops the start with its reason.
    func join() async throws {
        try await beat()
        await rooms.observe { [weak self] event in
            guard let self else { return }
            Task { await self.roomChanged(event) }
        }
        logger.info("cluster node registered", metadata: ["node": "\(id)", "url": "\(url)"])
    }

    private func roomChanged(_ event: RoomEvent) async {
        dirty = true
        if case .finished(let room) = event, !edgeRooms.contains(room.name) { await release(room.name) }
    }

    /// Heartbeat, shared room state and the dead-node reaper until shutdown.
    func run() async {
        var sinceBeat: Duration = .zero
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.publishTick) }
            if Task.isShuttingDownGracefully { break }
            sinceBeat += Self.publishTick
            do {
                if sinceBeat >= Self.heartbeat {
                    sinceBeat = .zero
                    try await beat()
                    try await publishRooms()
                    try await reapDeadNodes()
                } else if dirty {
                    try await publishRooms()
                }
            } catch {
                logger.warning("cluster state update failed", metadata: ["error": "\(error)"])
            }
        }
        await leave()
    }

    // MARK: Registry

    private func beat() async throws {
        let census = await rooms.census()
        lastCPU = cpu.sample()
        let info = NodeInfo(id: id, url: url, rooms: census.rooms, participants: census.participants, cpu: lastCPU,
                            startedAtMs: startedAtMs, updatedAtMs: Int64(Date().timeIntervalSince1970 * 1000),
                            edgeLinkHost: edgeLinkHost)
        let json = try JSONEncoder().encode(info)
        try await redis.command([Array("SET".utf8), Array(ClusterKeys.node(id).utf8), Array(json),
                                 Array("PX".utf8), Array("\(Self.nodeTTLMs)".utf8)])
        try await redis.command("SADD", ClusterKeys.nodes, id)
    }

    /// A clean stop: gone from the registry and its rooms' placements at once, not after the TTL.
    private func leave() async {
        for name in published { await release(name) }
        _ = try? await redis.command("DEL", ClusterKeys.node(id))
        _ = try? await redis.command("SREM", ClusterKeys.nodes, id)
        logger.info("cluster node left", metadata: ["node": "\(id)"])
    }

    /// Every node heartbeating now.
    func liveNodes() async throws -> [NodeInfo] {
        let ids = try await redis.command("SMEMBERS", ClusterKeys.nodes).array.compactMap(\.text)
        guard !ids.isEmpty else { return [] }
        let values = try await redis.command(["MGET"] + ids.map(ClusterKeys.node)).array
        return values.compactMap { $0.bytes.flatMap { try? JSONDecoder().decode(NodeInfo.self, from: Data($0)) } }
    }

    // MARK: Placement

    /// Atomically: the room's node if it has a live one, else `candidate` becomes its node.
    private static let claimScript = """
        local current = redis.call('HGET', KEYS[1], ARGV[1])
        if current and redis.call('EXISTS', ARGV[3] .. current) == 1 then return current end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        return ARGV[2]
        """

    /// Where `room` lives; with `place`, a room that lives nowhere is placed on the least-loaded
    /// live node first (this one on a tie).
    func route(room: String, place: Bool) async throws -> Route {
        let nodes = try await liveNodes()
        let byID = Dictionary(nodes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let owner: String?
        if place {
            let candidate = nodes.sorted(by: NodeInfo.placementOrder(preferring: id)).first?.id ?? id
            owner = try await redis.command("EVAL", Self.claimScript, "1", ClusterKeys.placements,
                                            room, candidate, ClusterKeys.nodeKeyPrefix).text
        } else {
            owner = try await redis.command("HGET", ClusterKeys.placements, room).text
        }
        guard let owner, owner != id, let node = byID[owner] else { return .local }
        return .remote(node)
    }

    /// Drops `room`'s placement and shared copy if they are this node's.
    private static let releaseScript = """
        if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
        if redis.call('HGET', KEYS[2], 'node') == ARGV[2] then redis.call('DEL', KEYS[2]) end
        return 1
        """

    private func release(_ room: String) async {
        published.remove(room)
        do {
            try await redis.command("EVAL", Self.releaseScript, "2", ClusterKeys.placements, ClusterKeys.room(room), room, id)
        } catch {
            logger.warning("cluster: room release failed", metadata: ["room": "\(room)", "error": "\(error)"])
        }
    }

    // MARK: Shared room state

    /// Writes every open room of this node (its metadata and participants) to its hash.
    private func publishRooms() async throws {
        dirty = false
        let open = await rooms.listRooms()
        var names: Set<String> = []
        for room in open where !edgeRooms.contains(room.name) {
            names.insert(room.name)
            var list = Livekit_ListParticipantsResponse()
            // Its own members only: the edges' viewers it shows its members are the edges' to share.
            list.participants = (try? await rooms.localParticipants(roomName: room.name)) ?? []
            let key = ClusterKeys.room(room.name)
            try await redis.command([
                Array("HSET".utf8), Array(key.utf8),
                Array("node".utf8), Array(id.utf8),
                Array("room".utf8), try room.proto.serializedBytes(),
                Array("participants".utf8), try list.serializedBytes(),
            ])
            try await redis.command("PEXPIRE", key, "\(Self.roomTTLMs)")
            // A room placed elsewhere while this node was cut off from Redis is this node's again
            // only if nobody else has it now (the claim does not steal a live node's room).
            try await redis.command("EVAL", Self.claimScript, "1", ClusterKeys.placements, room.name, id, ClusterKeys.nodeKeyPrefix)
        }
        for gone in published.subtracting(names) { await release(gone) }
        published = names
    }

    /// Open rooms on every live node, all or those named.
    func listRooms(names: [String]) async throws -> [Livekit_Room] {
        let wanted: [String]
        if names.isEmpty {
            wanted = try await redis.command("HKEYS", ClusterKeys.placements).array.compactMap(\.text).sorted()
        } else {
            wanted = names
        }
        var result: [Livekit_Room] = []
        for name in wanted {
            guard let bytes = try await redis.command("HGET", ClusterKeys.room(name), "room").bytes,
                  let room = try? Livekit_Room(serializedBytes: bytes) else { continue }
            result.append(room)
        }
        return result.sorted { $0.creationTimeMs < $1.creationTimeMs }
    }

    /// The participants of `room`: as its node last wrote them, then the viewers every live
    /// edge node serves (but `excludingEdge`'s); nil when no live node has the room.
    func participants(room: String, excludingEdge: String? = nil) async throws -> [Livekit_ParticipantInfo]? {
        guard let bytes = try await redis.command("HGET", ClusterKeys.room(room), "participants").bytes else { return nil }
        let members = try Livekit_ListParticipantsResponse(serializedBytes: bytes).participants
        return try await members + edgeViewers(room: room, excluding: excludingEdge)
    }

    // MARK: Edge rooms

    /// The viewers every live edge node but `excluding` serves of `room` (the origin shows them
    /// to its members, leaving out its own node's).
    func edgeViewers(room: String, excluding: String?) async throws -> [Livekit_ParticipantInfo] {
        let edges = try await redis.command("HGETALL", ClusterKeys.roomEdges(room)).array
        var viewers: [Livekit_ParticipantInfo] = []
        for index in stride(from: 0, to: edges.count - 1, by: 2) {
            guard let node = edges[index].text, node != excluding, let list = edges[index + 1].bytes,
                  try await redis.command("EXISTS", ClusterKeys.node(node)).integer == 1,
                  let decoded = try? Livekit_ListParticipantsResponse(serializedBytes: list) else { continue }
            viewers += decoded.participants
        }
        return viewers
    }

    /// Marks `room` as one this node holds as an edge (or no longer), before it opens locally.
    func setEdge(_ room: String, _ isEdge: Bool) async {
        if isEdge {
            edgeRooms.insert(room)
        } else {
            edgeRooms.remove(room)
            _ = try? await redis.command("HDEL", ClusterKeys.roomEdges(room), id)
        }
    }

    /// Shares the viewers this node serves in its edge copy of `room` (refreshed by the edge's
    /// sync; the field outlives a dead node only until readers see its registry entry gone).
    func publishEdgeViewers(room: String, _ viewers: [Livekit_ParticipantInfo]) async {
        do {
            var list = Livekit_ListParticipantsResponse()
            list.participants = viewers
            let key = ClusterKeys.roomEdges(room)
            try await redis.command([Array("HSET".utf8), Array(key.utf8), Array(id.utf8), try list.serializedBytes()])
            try await redis.command("PEXPIRE", key, "\(Self.roomTTLMs)")
        } catch {
            logger.warning("cluster: edge viewers not shared", metadata: ["room": "\(room)", "error": "\(error)"])
        }
    }

    /// Where `identity`, an edge node's viewer of `room`, is served: here, on another live
    /// node, or nil when no edge serves it (then the room's node does).
    func edgeRoute(room: String, identity: String) async throws -> Route? {
        let edges = try await redis.command("HGETALL", ClusterKeys.roomEdges(room)).array
        for index in stride(from: 0, to: edges.count - 1, by: 2) {
            guard let node = edges[index].text, let list = edges[index + 1].bytes,
                  let viewers = try? Livekit_ListParticipantsResponse(serializedBytes: list),
                  viewers.participants.contains(where: { $0.identity == identity }) else { continue }
            if node == id { return .local }
            if let info = try await liveNodes().first(where: { $0.id == node }) { return .remote(info) }
        }
        return nil
    }

    // MARK: Dead nodes

    /// Nodes registered but no longer heartbeating: whoever removes one from the set first (SREM
    /// answers 1 to one caller only) clears its placements and fails its egresses.
    private func reapDeadNodes() async throws {
        let ids = try await redis.command("SMEMBERS", ClusterKeys.nodes).array.compactMap(\.text)
        for node in ids where node != id {
            guard try await redis.command("EXISTS", ClusterKeys.node(node)).integer == 0 else { continue }
            guard try await redis.command("SREM", ClusterKeys.nodes, node).integer == 1 else { continue }
            try await reap(node)
        }
    }

    private func reap(_ dead: String) async throws {
        let placements = try await redis.command("HGETALL", ClusterKeys.placements).array.compactMap(\.text)
        var closed: [String] = []
        for index in stride(from: 0, to: placements.count - 1, by: 2) where placements[index + 1] == dead {
            let room = placements[index]
            try await redis.command("EVAL", Self.releaseScript, "2", ClusterKeys.placements, ClusterKeys.room(room), room, dead)
            closed.append(room)
        }
        let failed = try await failEgresses(of: dead)
        logger.warning("cluster node lost: its rooms closed in the shared state", metadata: [
            "node": "\(dead)", "rooms": "\(closed)", "egresses_failed": "\(failed)"])
    }

    // MARK: Egress

    /// Shares an egress's state (called by its node on every update), so any node lists it.
    func publishEgress(_ info: Livekit_EgressInfo) async {
        do {
            try await redis.command("HSET", ClusterKeys.egressNodes, info.egressID, id)
            try await redis.command([Array("SET".utf8), Array(ClusterKeys.egress(info.egressID).utf8), try info.serializedBytes()])
        } catch {
            logger.warning("cluster: egress state not shared", metadata: ["egress": "\(info.egressID)", "error": "\(error)"])
        }
    }

    /// The node recording `egressID`, when another live node.
    func egressRoute(_ egressID: String) async throws -> Route {
        guard let owner = try await redis.command("HGET", ClusterKeys.egressNodes, egressID).text, owner != id else { return .local }
        guard let node = try await liveNodes().first(where: { $0.id == owner }) else { return .local }
        return .remote(node)
    }

    /// Every egress in the shared state (all nodes, the dead ones' as FAILED).
    func listEgress() async throws -> [Livekit_EgressInfo] {
        let ids = try await redis.command("HKEYS", ClusterKeys.egressNodes).array.compactMap(\.text)
        var result: [Livekit_EgressInfo] = []
        for egress in ids {
            guard let bytes = try await redis.command("GET", ClusterKeys.egress(egress)).bytes,
                  let info = try? Livekit_EgressInfo(serializedBytes: bytes) else { continue }
            result.append(info)
        }
        return result
    }

    /// Marks the unfinished egresses of a dead node FAILED with the reason, in the shared state.
    private func failEgresses(of dead: String) async throws -> [String] {
        let pairs = try await redis.command("HGETALL", ClusterKeys.egressNodes).array.compactMap(\.text)
        var failed: [String] = []
        for index in stride(from: 0, to: pairs.count - 1, by: 2) where pairs[index + 1] == dead {
            let egress = pairs[index]
            guard let bytes = try await redis.command("GET", ClusterKeys.egress(egress)).bytes,
                  var info = try? Livekit_EgressInfo(serializedBytes: bytes) else { continue }
            switch info.status {
            case .egressStarting, .egressActive, .egressEnding:
                info.status = .egressFailed
                info.error = "node \(dead) lost (stopped heartbeating)"
                info.endedAt = Int64(Date().timeIntervalSince1970 * 1e9)
                try await redis.command([Array("SET".utf8), Array(ClusterKeys.egress(egress).utf8), try info.serializedBytes()])
                failed.append(egress)
            default: break
            }
        }
        return failed
    }
}

/// Runs the node's heartbeat loop as one of the server's services.
struct ClusterNodeService: Service {
    let node: ClusterNode
    func run() async throws { await node.run() }
}
