import Testing
@testable import SFU

@Suite struct LayerSelectorTests {
    typealias S = LayerSelector.Settings
    static let three = LayerSelector(layers: [.init(width: 320, height: 180), .init(width: 640, height: 360), .init(width: 1280, height: 720)])
    static let two = LayerSelector(layers: [.init(width: 320, height: 180), .init(width: 640, height: 360)])
    static let one = LayerSelector(layers: [.init(width: 640, height: 480)])
    static let all: UInt32 = 0b111

    @Test func settingsFromUpdateTrackSettings() {
        #expect(S(disabled: true, quality: .high, width: 100, height: 100) == .disabled)
        #expect(S(disabled: false, quality: .low, width: 640, height: 360) == .dimensions(width: 640, height: 360))
        #expect(S(disabled: false, quality: .medium, width: 0, height: 0) == .quality(.medium))
    }

    /// (selector, settings, desired layer)
    static let desiredCases: [(LayerSelector, S, Int?)] = [
        (three, .disabled, nil),
        (three, .quality(.low), 0), (three, .quality(.medium), 1), (three, .quality(.high), 2),
        (two, .quality(.high), 1), (two, .quality(.low), 0),         // 2 layers: q, h
        (one, .quality(.low), 0), (one, .quality(.high), 0),         // 1 layer: the only one
        (three, .dimensions(width: 320, height: 180), 0),
        (three, .dimensions(width: 356, height: 200), 0),             // 180 >= 0.9 * 200
        (three, .dimensions(width: 360, height: 201), 1),             // 180 < 180.9
        (three, .dimensions(width: 1280, height: 720), 2),
        (three, .dimensions(width: 1920, height: 1080), 2),           // nothing covers it: top
        (three, .dimensions(width: 700, height: 0), 1),               // width only: 640 >= 0.9 * 700
    ]

    @Test(arguments: desiredCases.indices)
    func desired(_ index: Int) {
        let (selector, settings, expected) = Self.desiredCases[index]
        #expect(selector.desiredLayer(for: settings) == expected)
    }

    @Test func unknownSizesFallBackToTop() {
        let selector = LayerSelector(layers: [.init(), .init(), .init()])
        #expect(selector.desiredLayer(for: .dimensions(width: 100, height: 100)) == 2)
        #expect(LayerSelector(layers: []).layerCount == 1)
    }

    /// (settings, cap, available mask, target)
    static let targetCases: [(S, LayerSelector.Cap, UInt32, Int?)] = [
        (.quality(.high), .unlimited, all, 2),
        (.quality(.high), .upTo(1), all, 1),
        (.quality(.high), .upTo(0), all, 0),
        (.quality(.high), .upTo(7), all, 2),
        (.quality(.high), .paused, all, nil),
        (.disabled, .unlimited, all, nil),
        (.quality(.high), .unlimited, 0b011, 1),      // top layer gone
        (.quality(.high), .unlimited, 0b101, 2),
        (.quality(.medium), .unlimited, 0b101, 0),    // medium gone: next lower
        (.quality(.low), .unlimited, 0b110, 1),       // low gone: lowest arriving above
        (.quality(.low), .upTo(0), 0b110, nil),       // ... unless the cap forbids it
        (.quality(.high), .unlimited, 0, nil),
    ]

    @Test(arguments: targetCases.indices)
    func target(_ index: Int) {
        let (settings, cap, available, expected) = Self.targetCases[index]
        #expect(Self.three.targetLayer(settings: settings, cap: cap, available: available) == expected)
    }
}
