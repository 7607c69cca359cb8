/// The Redis keys of a Sluice cluster's live state. Everything here is either refreshed by its
/// writer (and expires when the writer dies) or removed by whoever sees its writer dead; nothing
/// in Redis is history (that stays in each node's SQLite).
enum ClusterKeys {
    static let prefix = "sluice:"
    /// SET of every node id that registered (dead ones are removed by the reaper).
    static let nodes = prefix + "nodes"
    /// STRING (JSON `NodeInfo`) per node, with a TTL its heartbeat refreshes: its absence means dead.
    static func node(_ id: String) -> String { prefix + "node:" + id }
    static let nodeKeyPrefix = prefix + "node:"
    /// HASH room name -> id of the node the room lives on (its "placement").
    static let placements = prefix + "room_node"
    /// HASH per room written by its node: `node`, `room` (Livekit_Room protobuf), `participants`
    /// (Livekit_ListParticipantsResponse protobuf); TTL refreshed by the node, so it vanishes with it.
    static func room(_ name: String) -> String { prefix + "room:" + name }
    /// HASH per room: edge node id -> the viewers it serves of the room (Livekit_ListParticipantsResponse
    /// protobuf), written by each edge node's sync; TTL refreshed by the edges.
    static func roomEdges(_ name: String) -> String { prefix + "room_edges:" + name }
    /// HASH egress id -> id of the node that records it.
    static let egressNodes = prefix + "egress_node"
    /// STRING per egress (Livekit_EgressInfo protobuf) written by its node; a reaper rewrites the
    /// egresses of a dead node as FAILED.
    static func egress(_ id: String) -> String { prefix + "egress:" + id }
}
