/// The layouts a room composite draws, by the names LiveKit's `StartRoomCompositeEgress` and
/// `UpdateLayout` take. Any name is accepted and read as LiveKit's default template reads it
/// (egress `template-default`, Room.tsx): a name ending in `-light` draws on a light background,
/// anything else on dark; a name starting with `speaker` draws the speaker layout, one starting
/// with `single-speaker` the single-speaker layout, and every other name — `grid...`, and names an
/// app chose for a custom template Sluice does not run — a grid. Only names starting with `grid`
/// switch to the speaker layout while a screen is shared (the template does
/// `layout.replace('grid', 'speaker')` only when `layout.startsWith('grid')`). The matching is
/// case-sensitive, as in the template. An empty name is `grid`, as Sluice has always drawn it.
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
    /// A grid shows as the speaker layout while a screen is shared. True for LiveKit's `grid`
    /// names; false for a grid drawn in place of a name the template does not know.
    public var gridYieldsToScreenShare: Bool

    public init(_ arrangement: Arrangement, theme: Theme = .dark, gridYieldsToScreenShare: Bool = true) {
        self.arrangement = arrangement
        self.theme = theme
        self.gridYieldsToScreenShare = gridYieldsToScreenShare
    }

    /// Reads a layout name as LiveKit's default template does (see the type's comment).
    public init(name: String) {
        let theme: Theme = name.hasSuffix("-light") ? .light : .dark
        if name.isEmpty || name.hasPrefix(Arrangement.grid.rawValue) {
            self.init(.grid, theme: theme)
        } else if name.hasPrefix(Arrangement.speaker.rawValue) {
            self.init(.speaker, theme: theme)
        } else if name.hasPrefix(Arrangement.singleSpeaker.rawValue) {
            self.init(.singleSpeaker, theme: theme)
        } else {
            self.init(.grid, theme: theme, gridYieldsToScreenShare: false)
        }
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
