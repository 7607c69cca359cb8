import Synchronization

/// Packets per layer that crossed a link, per subscription: what the edge counts as received and
/// the origin as sent, so a test (or an operator on /admin/stats) can check that each layer of a
/// track reaches a node once, not once per viewer. Written on the link's thread, read anywhere.
public final class EdgeLinkLayerCounters: Sendable {
    public static let maximumLayers = 4
    public static let maximumSubscriptions = 256
    /// One uncontended lock per packet: the counters are written by one thread.
    private let counts = Mutex([UInt64](repeating: 0, count: EdgeLinkLayerCounters.maximumLayers
                                                          * EdgeLinkLayerCounters.maximumSubscriptions))

    public init() {}

    private func index(_ subscription: UInt16, _ layer: UInt8) -> Int? {
        guard Int(subscription) < Self.maximumSubscriptions, Int(layer) < Self.maximumLayers else { return nil }
        return Int(subscription) * Self.maximumLayers + Int(layer)
    }

    public func count(subscription: UInt16, layer: UInt8) {
        guard let index = index(subscription, layer) else { return }
        counts.withLock { $0[index] &+= 1 }
    }

    public func packets(subscription: UInt16, layer: UInt8) -> UInt64 {
        guard let index = index(subscription, layer) else { return 0 }
        return counts.withLock { $0[index] }
    }

    /// Layer -> packets of one subscription (the layers that saw any).
    public func perLayer(subscription: UInt16) -> [UInt8: UInt64] {
        var result: [UInt8: UInt64] = [:]
        for layer in 0..<UInt8(Self.maximumLayers) {
            let value = packets(subscription: subscription, layer: layer)
            if value > 0 { result[layer] = value }
        }
        return result
    }
}
