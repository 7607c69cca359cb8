/// The layouts a room composite draws, by the names LiveKit's `StartRoomCompositeEgress` and
/// `UpdateLayout` take: `grid`, `speaker`, `single-speaker`, each also with a `-dark` or `-light`
/// suffix (LiveKit's default template draws the same arrangement on a dark or light background;
/// dark is the default). An empty name is `grid`, which is what LiveKit's template falls back to.
public struct CompositeLayout: Sendable, Equatable, CustomStringConvertible {
    public enum Arrangement: String, Sendable, Equatable, CaseIterable {
        /// Every tile the same size in an even grid, ceil(sqrt(n)) columns.
        case grid
        /// One tile large (a screen share if there is one, else the active speaker), the others in a strip.
        case speaker
        /// Only the tile that `speaker` would show large.
        case singleSpeaker = "single-speaker"
    }

    public enum Theme: String, Sendable, Equatable {
        case dark, light
    }

    public var arrangement: Arrangement
    public var theme: Theme

    public init(_ arrangement: Arrangement, theme: Theme = .dark) {
        self.arrangement = arrangement
        self.theme = theme
    }

    /// Parses a LiveKit layout name, case-insensitively; nil for names LiveKit's template does
    /// not know (custom templates need a browser, which Sluice does not run).
    public init?(name: String) {
        var base = name.lowercased()
        var theme = Theme.dark
        for candidate in [Theme.dark, .light] where base.hasSuffix("-" + candidate.rawValue) {
            theme = candidate
            base.removeLast(candidate.rawValue.count + 1)
        }
        if base.isEmpty && name.isEmpty { base = Arrangement.grid.rawValue }
        guard let arrangement = Arrangement(rawValue: base) else { return nil }
        self.init(arrangement, theme: theme)
    }

    /// The names `init(name:)` accepts, for error messages.
    public static let knownNames: [String] = Arrangement.allCases.flatMap { arrangement in
        [arrangement.rawValue, arrangement.rawValue + "-dark", arrangement.rawValue + "-light"]
    }

    public var description: String {
        theme == .dark ? arrangement.rawValue : arrangement.rawValue + "-" + theme.rawValue
    }

    /// The canvas colour behind the tiles: black for dark, as LiveKit's dark template; a light
    /// grey for light.
    public var background: YUVColor {
        switch theme {
        case .dark: .black
        case .light: YUVColor(red: 0xEB, green: 0xEB, blue: 0xEB)
        }
    }
}
