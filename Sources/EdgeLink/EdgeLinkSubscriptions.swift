/// The edge's side of the control channel: which of the room's tracks it has asked the origin
/// for, under which subscription ids, and the highest layer its local viewers want of each. The
/// link is UDP, so `refreshMessages()` restates all of it and is sent on a timer; every message
/// is a whole fact, so repeating it is harmless at the origin.
public struct EdgeLinkSubscriptions: Sendable {
    public struct Entry: Sendable, Equatable {
        public let track: String
        public var wantedLayer: UInt8?
    }

    public private(set) var entries: [UInt16: Entry] = [:]
    private var nextID: UInt16 = 0

    public init() {}

    /// The subscription id of `track`, making one (and its `subscribe` message) when new.
    public mutating func subscribe(_ track: String) -> (id: UInt16, message: EdgeLinkControl?) {
        if let existing = entries.first(where: { $0.value.track == track }) { return (existing.key, nil) }
        let id = nextID
        nextID &+= 1
        entries[id] = Entry(track: track, wantedLayer: nil)
        return (id, .subscribe(subscription: id, track: track))
    }

    public mutating func unsubscribe(_ id: UInt16) -> EdgeLinkControl? {
        entries.removeValue(forKey: id) == nil ? nil : .unsubscribe(subscription: id)
    }

    /// Sets the highest layer the edge's viewers want of `id` (the maximum over them, computed by
    /// the caller); returns the message when it changed.
    public mutating func want(_ id: UInt16, highest: UInt8?) -> EdgeLinkControl? {
        guard var entry = entries[id], entry.wantedLayer != highest else { return nil }
        entry.wantedLayer = highest
        entries[id] = entry
        return .wantLayers(subscription: id, highest: highest)
    }

    /// Everything the origin must know, restated.
    public func refreshMessages() -> [EdgeLinkControl] {
        entries.sorted { $0.key < $1.key }.flatMap { id, entry in
            [EdgeLinkControl.subscribe(subscription: id, track: entry.track),
             .wantLayers(subscription: id, highest: entry.wantedLayer)]
        }
    }
}

/// The origin's side: what each edge asked for, and the union the publisher's dynacast must keep
/// flowing (the highest layer any edge wants of a track, alongside the origin's own viewers).
public struct EdgeLinkDemand: Sendable {
    /// edge node -> subscription id -> (track, highest wanted layer).
    public private(set) var byEdge: [String: [UInt16: EdgeLinkSubscriptions.Entry]] = [:]

    public init() {}

    /// Applies a control message from `edge`; returns the track whose demand changed, if any.
    public mutating func apply(_ message: EdgeLinkControl, from edge: String) -> String? {
        var subscriptions = byEdge[edge] ?? [:]
        defer { byEdge[edge] = subscriptions.isEmpty ? nil : subscriptions }
        switch message {
        case .subscribe(let id, let track):
            if subscriptions[id]?.track == track { return nil }
            subscriptions[id] = .init(track: track, wantedLayer: nil)
            return track
        case .unsubscribe(let id):
            return subscriptions.removeValue(forKey: id)?.track
        case .wantLayers(let id, let highest):
            guard var entry = subscriptions[id], entry.wantedLayer != highest else { return nil }
            entry.wantedLayer = highest
            subscriptions[id] = entry
            return entry.track
        case .keyframe, .subscribed, .trackGone, .senderReport:
            return nil
        }
    }

    /// The highest layer any edge wants of `track` (nil: no edge wants it).
    public func highestWanted(of track: String) -> UInt8? {
        byEdge.values.flatMap(\.values).filter { $0.track == track }.compactMap(\.wantedLayer).max()
    }

    /// Forgets an edge whose link went away.
    public mutating func drop(edge: String) { byEdge[edge] = nil }
}
