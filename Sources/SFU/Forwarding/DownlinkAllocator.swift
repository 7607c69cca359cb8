/// Lowers and raises the highest simulcast layer one subscriber may receive from the loss its
/// receiver reports show: a loss-based estimate with hysteresis, applied to all its DownTracks
/// as the forwarder's `Cap`. A pure value driven by an injected clock.
///
/// - Loss above `lowerAbove` takes one layer away, at most once per `lowerInterval`.
/// - Loss below `raiseBelow`, held for `raiseAfter`, gives one back, up to unlimited.
/// - In between nothing changes, so a link near a threshold does not flap.
/// It never pauses on loss alone: the lowest layer always stays.
public struct DownlinkAllocator: Sendable, Equatable {
    public var lowerAbove = 0.10
    public var raiseBelow = 0.02
    public var lowerInterval: UInt64 = 2_000_000_000
    public var raiseAfter: UInt64 = 5_000_000_000
    /// Layers the tracks have at most (3 with LiveKit's simulcast).
    public var layerCount = 3

    /// nil: unlimited; else the highest layer allowed.
    public private(set) var limit: Int?
    private var lastLowered: UInt64?
    private var goodSince: UInt64?

    public init() {}

    public var cap: LayerSelector.Cap { limit.map { .upTo($0) } ?? .unlimited }

    /// One receiver-report interval's loss (0...1) at `now`. Returns the new cap when it changed.
    public mutating func update(loss: Double, now: UInt64) -> LayerSelector.Cap? {
        if loss > lowerAbove {
            goodSince = nil
            if let last = lastLowered, now &- last < lowerInterval { return nil }
            let current = limit ?? (layerCount - 1)
            guard current > 0 else { return nil }
            limit = current - 1
            lastLowered = now
            return cap
        }
        guard loss < raiseBelow, let current = limit else { goodSince = nil; return nil }
        guard let since = goodSince else { goodSince = now; return nil }
        guard now &- since >= raiseAfter else { return nil }
        limit = current + 1 >= layerCount - 1 ? nil : current + 1
        goodSince = now
        return cap
    }
}
