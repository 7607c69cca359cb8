/// Dynacast for one publisher: per published video track, the highest simulcast layer last
/// announced to it, and when the next announcement is due.
///
/// The publisher's encoder follows our announcements, and turning a layer back on costs a
/// keyframe and a moment of low quality for whoever wanted it. So, as LiveKit does, changes are
/// asymmetric:
/// - A layer becoming wanted (or a first announcement) is announced at once: a viewer waits
///   for it.
/// - A layer no longer wanted is announced only after `downgradeDelay`, counted from the first
///   change down (later changes down do not restart it). If the layer is wanted again within
///   the delay, nothing is announced: a viewer flicking between sizes or a subscription
///   renegotiated does not make the encoder stop and restart.
/// `due(now:)` hands out the delayed announcements; call it on a timer.
/// A pure value driven by the `now` it is given.
public struct DynacastAnnouncer: Sendable {
    public struct Announcement: Sendable, Equatable {
        public var trackID: String
        /// The highest layer wanted; nil when no layer is (the publisher may pause the track).
        public var highestLayer: Int?

        public init(trackID: String, highestLayer: Int?) {
            self.trackID = trackID
            self.highestLayer = highestLayer
        }

        /// Whether the publisher should send `layer` (counted from the bottom).
        public func isEnabled(_ layer: Int) -> Bool {
            highestLayer.map { layer <= $0 } ?? false
        }
    }

    public var downgradeDelay: UInt64 = 2_000_000_000

    private struct State {
        /// -1: nothing wanted.
        var announced: Int
        var pending: Int?
        var dueAt: UInt64 = 0
    }

    private var tracks: [String: State] = [:]

    public init() {}

    /// Whether a lower layer waits to be announced for `trackID`.
    public func hasPendingDowngrade(trackID: String) -> Bool { tracks[trackID]?.pending != nil }

    /// The highest layer of `trackID` that subscribers want now (nil: none). Returns the
    /// announcement to send now, if one is due at once.
    public mutating func wanted(_ highestLayer: Int?, trackID: String, now: UInt64) -> Announcement? {
        let wanted = highestLayer ?? -1
        guard var state = tracks[trackID] else {
            tracks[trackID] = State(announced: wanted)
            return Announcement(trackID: trackID, highestLayer: highestLayer)
        }
        defer { tracks[trackID] = state }
        if wanted > state.announced {
            state.announced = wanted
            state.pending = nil
            return Announcement(trackID: trackID, highestLayer: highestLayer)
        }
        if wanted == state.announced {
            state.pending = nil
        } else {
            if state.pending == nil { state.dueAt = now &+ downgradeDelay }
            state.pending = wanted
        }
        return nil
    }

    /// Delayed announcements whose time has come, by track id.
    public mutating func due(now: UInt64) -> [Announcement] {
        var out: [Announcement] = []
        for (trackID, state) in tracks {
            guard let pending = state.pending, now >= state.dueAt else { continue }
            tracks[trackID] = State(announced: pending)
            out.append(Announcement(trackID: trackID, highestLayer: pending < 0 ? nil : pending))
        }
        return out.sorted { $0.trackID < $1.trackID }
    }

    /// Drops what is remembered of tracks not in `trackIDs` (unpublished).
    public mutating func keep(only trackIDs: Set<String>) {
        tracks = tracks.filter { trackIDs.contains($0.key) }
    }
}
