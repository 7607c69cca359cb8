/// Chooses the simulcast layer a subscriber should get (PROTOCOL.md §3 "Subscriber choice").
/// A pure value: the `Forwarder` asks it again whenever settings, the bandwidth cap or the set
/// of arriving layers change.
///
/// Layers are indexed from the bottom (0 = `q`/LOW) whatever the SDK's rid order; a 1-layer track
/// has only index 0.
public struct LayerSelector: Sendable, Equatable {
    /// LiveKit's VideoQuality (LOW/MEDIUM/HIGH), as a layer index counted from the bottom.
    public enum Quality: Int, Sendable, Equatable, CaseIterable {
        case low = 0, medium = 1, high = 2
    }

    /// What the subscriber asked for in UpdateTrackSettings.
    public enum Settings: Sendable, Equatable {
        /// `disabled`: pause the track.
        case disabled
        /// Explicit quality: the maximum layer (JS default HIGH).
        case quality(Quality)
        /// Adaptive stream: the player's size in pixels.
        case dimensions(width: Int, height: Int)

        /// Maps UpdateTrackSettings fields as LiveKit does: `disabled` wins, then a non-zero size,
        /// then the quality.
        public init(disabled: Bool, quality: Quality, width: Int, height: Int) {
            if disabled {
                self = .disabled
            } else if width > 0 || height > 0 {
                self = .dimensions(width: width, height: height)
            } else {
                self = .quality(quality)
            }
        }
    }

    /// The bandwidth allocator's limit for this subscriber.
    public enum Cap: Sendable, Equatable {
        case unlimited
        /// No layer above this index.
        case upTo(Int)
        /// Not even the lowest layer fits: pause.
        case paused
    }

    /// A published layer's size as announced in TrackInfo (0 when unknown).
    public struct Layer: Sendable, Equatable {
        public var width: Int
        public var height: Int
        public init(width: Int = 0, height: Int = 0) {
            self.width = width
            self.height = height
        }
    }

    /// Published layers, lowest first. At least one.
    public let layers: [Layer]

    public init(layers: [Layer]) {
        self.layers = layers.isEmpty ? [Layer()] : layers
    }

    public var layerCount: Int { layers.count }

    /// The layer the subscriber's settings ask for, ignoring caps and availability; nil when
    /// disabled.
    public func desiredLayer(for settings: Settings) -> Int? {
        let top = layers.count - 1
        switch settings {
        case .disabled:
            return nil
        case .quality(let quality):
            // 2 layers are q, h: HIGH means the top one, counted from the bottom.
            return min(quality.rawValue, top)
        case .dimensions(let width, let height):
            // Lowest layer whose height is at least 90% of the requested height (width when no
            // height was given or layer heights are unknown); the top layer when none covers it.
            let useHeight = height > 0 && layers.allSatisfy { $0.height > 0 }
            let requested = useHeight ? height : width
            guard requested > 0 else { return top }
            if !useHeight && !layers.allSatisfy({ $0.width > 0 }) { return top }
            for (index, layer) in layers.enumerated() {
                let size = useHeight ? layer.height : layer.width
                if size * 10 >= requested * 9 { return index }
            }
            return top
        }
    }

    /// The layer to forward: the highest arriving layer at or below both the desired layer and
    /// the cap; when none at or below the desired layer arrives, the lowest arriving one within
    /// the cap (better a sharper picture than none). nil means forward nothing.
    ///
    /// `available` is a bit mask of arriving layers (bit i = layer i).
    public func targetLayer(settings: Settings, cap: Cap, available: UInt32) -> Int? {
        guard let desired = desiredLayer(for: settings) else { return nil }
        let limit: Int
        switch cap {
        case .unlimited: limit = layers.count - 1
        case .upTo(let layer): limit = min(layer, layers.count - 1)
        case .paused: return nil
        }
        guard limit >= 0 else { return nil }
        let wanted = min(desired, limit)
        var layer = wanted
        while layer >= 0 {
            if available & (1 << UInt32(layer)) != 0 { return layer }
            layer -= 1
        }
        layer = wanted + 1
        while layer <= limit {
            if available & (1 << UInt32(layer)) != 0 { return layer }
            layer += 1
        }
        return nil
    }
}
