import Testing
@testable import Egress

/// Layout names and the arithmetic of where tiles go.
@Suite struct CompositeLayoutTests {
    static func tiles(_ count: Int, screenShareAt: Int? = nil) -> [CompositeTile] {
        (0..<count).map { CompositeTile(track: $0 * 2, participant: "p\($0)", isScreenShare: $0 == screenShareAt) }
    }

    static func rect(_ x: Int, _ y: Int, _ w: Int, _ h: Int) -> VideoRect { VideoRect(x: x, y: y, width: w, height: h) }

    @Test func namesReadAsLiveKitsTemplateReadsThem() {
        #expect(CompositeLayout(name: "grid") == CompositeLayout(.grid, theme: .dark))
        #expect(CompositeLayout(name: "grid-dark") == CompositeLayout(.grid, theme: .dark))
        #expect(CompositeLayout(name: "grid-light") == CompositeLayout(.grid, theme: .light))
        #expect(CompositeLayout(name: "speaker-light") == CompositeLayout(.speaker, theme: .light))
        #expect(CompositeLayout(name: "speaker-dark") == CompositeLayout(.speaker, theme: .dark))
        #expect(CompositeLayout(name: "single-speaker") == CompositeLayout(.singleSpeaker))
        #expect(CompositeLayout(name: "single-speaker-light") == CompositeLayout(.singleSpeaker, theme: .light))
        #expect(CompositeLayout(name: "") == CompositeLayout(.grid), "an empty layout is a grid")
        // The template matches prefixes: these are LiveKit's arrangements still.
        #expect(CompositeLayout(name: "grid-blue") == CompositeLayout(.grid))
        #expect(CompositeLayout(name: "speaker-") == CompositeLayout(.speaker))
        #expect(CompositeLayout(name: "grid-dark-light") == CompositeLayout(.grid, theme: .light))
        // Names the app chose itself: a grid that stays a grid while a screen is shared, on the
        // theme the suffix asks. Matching is case-sensitive, as in the template.
        for (name, theme) in [("mosaic", CompositeLayout.Theme.dark), ("mosaic-light", .light), ("Speaker-Dark", .dark),
                              (" grid", .dark), ("-dark", .dark)] {
            #expect(CompositeLayout(name: name) == CompositeLayout(.grid, theme: theme, gridYieldsToScreenShare: false),
                    "\(name)")
        }
        #expect(CompositeLayout(.grid, theme: .light).description == "grid-light")
        #expect(CompositeLayout(.singleSpeaker).description == "single-speaker")
        #expect(CompositeLayout(.grid).background == .black)
        #expect(CompositeLayout(.grid, theme: .light).background == YUVColor(red: 0xEB, green: 0xEB, blue: 0xEB))
    }

    @Test func gridHasCeilSqrtColumnsAndCentresAShortLastRow() {
        func cells(_ n: Int, _ w: Int = 1280, _ h: Int = 720) -> [VideoRect] {
            CompositeTiling.place(Self.tiles(n), canvasWidth: w, canvasHeight: h, layout: .grid, speaker: nil).map(\.cell)
        }
        #expect(cells(0).isEmpty)
        #expect(cells(1) == [Self.rect(0, 0, 1280, 720)])
        // Two participants side by side.
        #expect(cells(2) == [Self.rect(0, 0, 640, 720), Self.rect(640, 0, 640, 720)])
        // Three: 2x2 with the last one centred.
        #expect(cells(3) == [Self.rect(0, 0, 640, 360), Self.rect(640, 0, 640, 360), Self.rect(320, 360, 640, 360)])
        #expect(cells(4) == [Self.rect(0, 0, 640, 360), Self.rect(640, 0, 640, 360),
                             Self.rect(0, 360, 640, 360), Self.rect(640, 360, 640, 360)])
        // Five: three columns, two rows; 1280/3 rounds down to an even 426; the short row is centred.
        let five = cells(5)
        #expect(five.count == 5 && five.allSatisfy { $0.width == 426 && $0.height == 360 })
        #expect(five[0] == Self.rect(0, 0, 426, 360) && five[3] == Self.rect(212, 360, 426, 360))
        #expect(five[4] == Self.rect(212 + 426, 360, 426, 360))
        // Ten: 4 columns, 3 rows.
        #expect(Set(cells(10).map(\.y)).count == 3 && Set(cells(10).map(\.x)).count >= 4)
        // Every rectangle is even and inside the canvas.
        for n in 1...17 {
            for cell in cells(n, 1920, 1080) + cells(n, 720, 1280) {
                #expect(cell.x % 2 == 0 && cell.y % 2 == 0 && cell.width % 2 == 0 && cell.height % 2 == 0)
                #expect(cell.x >= 0 && cell.y >= 0 && cell.x + cell.width <= 1920 && cell.y + cell.height <= 1280)
            }
        }
        let tracks = CompositeTiling.place(Self.tiles(3), canvasWidth: 1280, canvasHeight: 720, layout: .grid, speaker: nil)
        #expect(tracks.map(\.track) == [0, 2, 4], "the tiles' order is kept")
    }

    @Test func speakerPutsTheActiveSpeakerLargeWithAStripOnTheLeft() {
        let placed = CompositeTiling.place(Self.tiles(3), canvasWidth: 1280, canvasHeight: 720, layout: .speaker,
                                           speaker: "p1")
        #expect(placed == [TilePlacement(track: 2, cell: Self.rect(212, 0, 1068, 720)),
                           TilePlacement(track: 0, cell: Self.rect(0, 0, 212, 118)),
                           TilePlacement(track: 4, cell: Self.rect(0, 118, 212, 118))])
        // Nobody speaking yet: the first tile.
        let quiet = CompositeTiling.place(Self.tiles(2), canvasWidth: 1280, canvasHeight: 720, layout: .speaker, speaker: nil)
        #expect(quiet.first?.track == 0)
        // One tile: the whole canvas, no strip.
        #expect(CompositeTiling.place(Self.tiles(1), canvasWidth: 1280, canvasHeight: 720, layout: .speaker, speaker: "p0")
                == [TilePlacement(track: 0, cell: Self.rect(0, 0, 1280, 720))])
        // More than the strip holds: the rest are left out.
        let crowd = CompositeTiling.place(Self.tiles(12), canvasWidth: 1280, canvasHeight: 720, layout: .speaker, speaker: nil)
        #expect(crowd.count == 1 + 720 / 118)
        // Portrait: the strip runs along the bottom.
        let portrait = CompositeTiling.place(Self.tiles(2), canvasWidth: 720, canvasHeight: 1280, layout: .speaker, speaker: "p1")
        #expect(portrait == [TilePlacement(track: 2, cell: Self.rect(0, 0, 720, 1068)),
                             TilePlacement(track: 0, cell: Self.rect(0, 1068, 118, 212))])
    }

    @Test func aScreenShareTakesTheMainAreaAndTurnsGridIntoSpeaker() {
        let tiles = Self.tiles(3, screenShareAt: 2)
        let speaker = CompositeTiling.place(tiles, canvasWidth: 1280, canvasHeight: 720, layout: .speaker, speaker: "p0")
        #expect(speaker.first == TilePlacement(track: 4, cell: Self.rect(212, 0, 1068, 720)))
        let grid = CompositeTiling.place(tiles, canvasWidth: 1280, canvasHeight: 720, layout: .grid, speaker: "p0")
        #expect(grid == speaker)
        // The grid drawn for an unknown layout name does not switch: the screen is one cell.
        let custom = CompositeLayout(name: "mosaic")
        let unknown = CompositeTiling.place(tiles, canvasWidth: 1280, canvasHeight: 720, layout: custom.arrangement,
                                            speaker: "p0", gridYieldsToScreenShare: custom.gridYieldsToScreenShare)
        #expect(unknown == CompositeTiling.place(Self.tiles(3), canvasWidth: 1280, canvasHeight: 720, layout: .grid,
                                                 speaker: nil))
        let single = CompositeTiling.place(tiles, canvasWidth: 1280, canvasHeight: 720, layout: .singleSpeaker, speaker: "p0")
        #expect(single == [TilePlacement(track: 4, cell: Self.rect(0, 0, 1280, 720))])
    }

    @Test func singleSpeakerShowsOnlyTheSpeaker() {
        let placed = CompositeTiling.place(Self.tiles(3), canvasWidth: 1920, canvasHeight: 1080, layout: .singleSpeaker,
                                           speaker: "p2")
        #expect(placed == [TilePlacement(track: 4, cell: Self.rect(0, 0, 1920, 1080))])
    }
}
