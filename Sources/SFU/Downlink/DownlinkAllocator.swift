/// Shares one subscriber's downlink estimate among the video tracks it receives, as LiveKit's
/// StreamAllocator does (read for the idea): audio is always kept (its bitrate comes off the
/// top); then, in priority order (screen share, then the active speaker, then the others),
/// every video track gets its lowest layer while that fits; then each, in the same order, is
/// raised as far as the rest allows, never above what its subscriber asked for. A track whose
/// lowest layer does not fit is paused (LiveKit's StreamStateUpdate PAUSED) and resumes when it
/// fits again.
///
/// Downgrades apply at once (the forwarder keeps sending the current layer until the lower
/// layer's keyframe arrives, so the picture never stops); upgrades only after the estimate has
/// allowed them for `upgradeHold`, so a passing spike does not cost a keyframe.
/// A pure value driven by an injected clock; runs on the room's periodic tick, not per packet.
public struct DownlinkAllocator: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// How long (ns) a higher layer must fit before it is taken.
        public var upgradeHold: UInt64 = 2_000_000_000
        /// A playing track is paused only when less than this share of its lowest layer fits.
        public var keepLowest = 0.8
        public init() {}
    }

    /// One video track of the subscriber, as the allocator sees it.
    public struct Track: Sendable, Equatable {
        public var id: String
        /// Higher goes first: 2 screen share, 1 the active speaker's, 0 the others.
        public var priority: Int
        /// The layer its subscriber asks for (settings, ignoring the cap); nil: disabled.
        public var desiredLayer: Int?
        /// Bits per second of each layer, lowest first.
        public var layerBitrates: [Double]

        public init(id: String, priority: Int = 0, desiredLayer: Int?, layerBitrates: [Double]) {
            self.id = id
            self.priority = priority
            self.desiredLayer = desiredLayer
            self.layerBitrates = layerBitrates
        }
    }

    public let configuration: Configuration
    /// The layer each track may have now (-1: paused), by track id.
    public private(set) var granted: [String: Int] = [:]
    /// A higher layer that fits, and since when.
    private var pendingUpgrade: [String: (layer: Int, since: UInt64)] = [:]
    /// What each track's subscriber asked for at the last allocation.
    private var lastDesired: [String: Int] = [:]
    /// True when the last allocation gave some track less than it asked for because of the
    /// estimate: more bandwidth would be used, so probing for it is worth it.
    public private(set) var isDeficient = false

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Caps for `tracks` (same order) under `estimate` bits/s (nil: no limit known), with
    /// `audioBitrate` reserved.
    public mutating func allocate(estimate: Double?, audioBitrate: Double, tracks: [Track], now: UInt64) -> [LayerSelector.Cap] {
        granted = granted.filter { entry in tracks.contains { $0.id == entry.key } }
        pendingUpgrade = pendingUpgrade.filter { entry in tracks.contains { $0.id == entry.key } }
        defer {
            lastDesired.removeAll(keepingCapacity: true)
            for track in tracks { if let desired = track.desiredLayer { lastDesired[track.id] = desired } }
        }
        guard let estimate else {
            isDeficient = false
            for track in tracks { granted[track.id] = track.layerBitrates.count - 1 }
            pendingUpgrade.removeAll()
            return tracks.map { _ in .unlimited }
        }
        // What fits now, ignoring history.
        var budget = estimate - audioBitrate
        let order = tracks.indices.sorted { tracks[$0].priority > tracks[$1].priority || (tracks[$0].priority == tracks[$1].priority && $0 < $1) }
        var fits = Array(repeating: -1, count: tracks.count)
        for index in order {
            guard tracks[index].desiredLayer != nil, let lowest = tracks[index].layerBitrates.first else { continue }
            // Hysteresis on pausing: a track already playing keeps its lowest layer down to
            // `keepLowest` of its measured rate (that rate includes the keyframes a switch just
            // asked for); a paused one resumes only when the whole rate fits.
            let playing = (granted[tracks[index].id] ?? -1) >= 0
            if lowest * (playing ? configuration.keepLowest : 1) <= budget {
                fits[index] = 0
                budget -= min(lowest, budget)
            }
        }
        isDeficient = false
        for index in order {
            let track = tracks[index]
            guard let desired = track.desiredLayer else { continue }
            let top = min(desired, track.layerBitrates.count - 1)
            guard fits[index] >= 0 else { isDeficient = true; continue }
            var layer = 0
            while layer < top {
                let step = track.layerBitrates[layer + 1] - track.layerBitrates[layer]
                guard step <= budget else { break }
                budget -= step
                layer += 1
            }
            fits[index] = layer
            if layer < top { isDeficient = true }
        }
        // Hysteresis: down at once, up after the hold.
        var caps: [LayerSelector.Cap] = []
        for (index, track) in tracks.enumerated() {
            let top = track.layerBitrates.count - 1
            guard track.desiredLayer != nil else {
                caps.append(.unlimited)
                pendingUpgrade[track.id] = nil
                continue
            }
            let target = fits[index]
            var layer = granted[track.id] ?? target
            // The layer held was the subscriber's own ask, not the estimate's limit: a higher
            // ask that fits now is the viewer's choice (LOW -> HIGH in a player), not a passing
            // spike in the estimate, and is served at once.
            let heldByAsk = lastDesired[track.id].map { layer >= 0 && layer >= min($0, top) } ?? false
            if target <= layer || heldByAsk {
                layer = target
                pendingUpgrade[track.id] = nil
            } else if let pending = pendingUpgrade[track.id] {
                if now &- pending.since >= configuration.upgradeHold {
                    layer = min(target, pending.layer)
                    pendingUpgrade[track.id] = target > layer ? (target, now) : nil
                } else if target < pending.layer {
                    pendingUpgrade[track.id] = (target, pending.since)
                }
            } else {
                pendingUpgrade[track.id] = (target, now)
            }
            granted[track.id] = layer
            caps.append(layer < 0 ? .paused : layer >= top ? .unlimited : .upTo(layer))
        }
        return caps
    }

    /// What a layer costs when it has not been measured (it is not arriving: dynacast stopped it
    /// or it never started), from its height; LiveKit's presets are near these.
    public static func assumedBitrate(height: Int, layer: Int) -> Double {
        let height = height > 0 ? height : [180, 360, 720][min(max(layer, 0), 2)]
        switch height {
        case ...180: return 150_000
        case ...270: return 250_000
        case ...360: return 450_000
        case ...540: return 800_000
        case ...720: return 1_700_000
        default: return 3_000_000
        }
    }
}
