import Foundation

/// What a node says about itself in the registry at every heartbeat: where to reach it and how
/// loaded it is (the placement of new rooms reads this).
struct NodeInfo: Codable, Sendable, Equatable {
    var id: String
    /// Base URL of its HTTP listener (signalling and APIs), e.g. `http://127.0.0.1:7880`.
    var url: String
    var rooms: Int
    var participants: Int
    /// Share of one core this process used since the last heartbeat (1.0 = one core busy).
    var cpu: Double
    var startedAtMs: Int64
    var updatedAtMs: Int64
    /// Where this node's edge links listen (an IPv4 address; each link's port is handed out
    /// when an edge asks for it). nil: a node that serves no edges.
    var edgeLinkHost: String? = nil

    /// The order new rooms go by: fewest rooms and participants first, the asking node on a tie
    /// (a room then lives where its first client connected, with no relay), then the least CPU.
    static func placementOrder(preferring selfID: String) -> (NodeInfo, NodeInfo) -> Bool {
        { a, b in
            let loadA = a.rooms + a.participants, loadB = b.rooms + b.participants
            if loadA != loadB { return loadA < loadB }
            if (a.id == selfID) != (b.id == selfID) { return a.id == selfID }
            if a.cpu != b.cpu { return a.cpu < b.cpu }
            return a.id < b.id
        }
    }

    var webSocketURL: String {
        if url.hasPrefix("https://") { return "wss://" + url.dropFirst("https://".count) }
        if url.hasPrefix("http://") { return "ws://" + url.dropFirst("http://".count) }
        return url
    }
}
