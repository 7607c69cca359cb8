/// Rounds down to an even number.
@inline(__always) func even(_ value: Int) -> Int { value & ~1 }

/// One video the composite may show: a participant's camera or screen share.
public struct CompositeTile: Sendable, Equatable {
    /// The recorder's track index of the video.
    public var track: Int
    /// Who publishes it: the active speaker is a participant, not a track.
    public var participant: String
    public var isScreenShare: Bool

    public init(track: Int, participant: String, isScreenShare: Bool = false) {
        self.track = track
        self.participant = participant
        self.isScreenShare = isScreenShare
    }
}

/// Where a tile goes on the canvas: the cell it owns (the picture is fitted inside it). Cells
/// have even coordinates and sizes: in YUV 4:2:0 a chroma sample covers 2x2 pixels.
public struct TilePlacement: Sendable, Equatable {
    public var track: Int
    public var cell: VideoRect

    public init(track: Int, cell: VideoRect) {
        self.track = track
        self.cell = cell
    }
}

/// The layout arithmetic: which tiles show and where, for a canvas size, a layout and the
/// current speaker. Pure, so it is table-tested without codecs.
///
/// The arrangements follow what LiveKit's default room-composite template draws:
/// - grid: ceil(sqrt(n)) columns and as many rows as needed, every cell the same size; a last
///   row that is not full is centred. While someone shares a screen, grid shows as speaker
///   (LiveKit's template switches the same way), so a shared screen is never a small cell —
///   unless `gridYieldsToScreenShare` is false: the grid LiveKit's template draws for a layout
///   name it does not know stays a grid.
/// - speaker: the main tile — the first screen share, else the active speaker's camera, else the
///   first tile — takes the canvas but for a strip of the others: on the left, a sixth of the
///   width, for a landscape canvas; along the bottom, a sixth of the height, for a portrait one.
///   Strip tiles are 16:9 (9:16 in portrait) and as many as fit. With a single tile there is no strip.
/// - single-speaker: the main tile alone, full canvas.
public enum CompositeTiling {
    public static func place(_ tiles: [CompositeTile], canvasWidth: Int, canvasHeight: Int,
                             layout: CompositeLayout.Arrangement, speaker: String?,
                             gridYieldsToScreenShare: Bool = true) -> [TilePlacement] {
        guard !tiles.isEmpty, canvasWidth >= 2, canvasHeight >= 2 else { return [] }
        let width = even(canvasWidth), height = even(canvasHeight)
        var layout = layout
        if layout == .grid, gridYieldsToScreenShare, tiles.contains(where: \.isScreenShare) { layout = .speaker }
        switch layout {
        case .grid:
            return grid(tiles, width: width, height: height)
        case .speaker, .singleSpeaker:
            let main = mainTile(tiles, speaker: speaker)
            let full = VideoRect(x: 0, y: 0, width: width, height: height)
            let others = tiles.filter { $0.track != main.track }
            guard layout == .speaker, !others.isEmpty else { return [TilePlacement(track: main.track, cell: full)] }
            return speakerWithStrip(main: main, others: others, width: width, height: height)
        }
    }

    /// The tile the speaker layouts show large.
    public static func mainTile(_ tiles: [CompositeTile], speaker: String?) -> CompositeTile {
        if let share = tiles.first(where: \.isScreenShare) { return share }
        if let speaker, let camera = tiles.first(where: { $0.participant == speaker }) { return camera }
        return tiles[0]
    }

    private static func grid(_ tiles: [CompositeTile], width: Int, height: Int) -> [TilePlacement] {
        let count = tiles.count
        var columns = 1
        while columns * columns < count { columns += 1 }
        let rows = (count + columns - 1) / columns
        let cellWidth = even(width / columns), cellHeight = even(height / rows)
        // Centre the grid as a whole, then a short last row within it.
        let left = even((width - cellWidth * columns) / 2), top = even((height - cellHeight * rows) / 2)
        return tiles.enumerated().map { index, tile in
            let row = index / columns, column = index % columns
            let inRow = row == rows - 1 ? count - row * columns : columns
            let indent = even((columns - inRow) * cellWidth / 2)
            return TilePlacement(track: tile.track, cell: VideoRect(x: left + indent + column * cellWidth,
                                                                    y: top + row * cellHeight,
                                                                    width: cellWidth, height: cellHeight))
        }
    }

    private static func speakerWithStrip(main: CompositeTile, others: [CompositeTile], width: Int,
                                         height: Int) -> [TilePlacement] {
        var placements: [TilePlacement] = []
        if width >= height {
            let stripWidth = even(width / 6)
            let tileHeight = max(2, even(stripWidth * 9 / 16))
            placements.append(TilePlacement(track: main.track,
                                            cell: VideoRect(x: stripWidth, y: 0, width: width - stripWidth, height: height)))
            for (index, tile) in others.prefix(max(1, height / tileHeight)).enumerated() {
                placements.append(TilePlacement(track: tile.track,
                                                cell: VideoRect(x: 0, y: index * tileHeight, width: stripWidth, height: tileHeight)))
            }
        } else {
            let stripHeight = even(height / 6)
            let tileWidth = max(2, even(stripHeight * 9 / 16))
            placements.append(TilePlacement(track: main.track,
                                            cell: VideoRect(x: 0, y: 0, width: width, height: height - stripHeight)))
            for (index, tile) in others.prefix(max(1, width / tileWidth)).enumerated() {
                placements.append(TilePlacement(track: tile.track,
                                                cell: VideoRect(x: index * tileWidth, y: height - stripHeight,
                                                                width: tileWidth, height: stripHeight)))
            }
        }
        return placements
    }
}
