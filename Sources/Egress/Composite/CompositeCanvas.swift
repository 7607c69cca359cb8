/// The composite's picture: a YUV 4:2:0 canvas with the layout's tiles drawn on its background.
///
/// It repaints only what changed since the last output frame: everything when the placements or
/// the background changed (someone joined or left, the speaker or the layout changed), else just
/// the cells whose picture is new. Between changes the same canvas is encoded again, which costs
/// x264 little. Pictures are fitted into their cells keeping their aspect ratio; the bars are the
/// background colour.
final class CompositeCanvas {
    let buffer: VideoFrameBuffer
    private var placements: [TilePlacement] = []
    private var background: YUVColor?

    init(width: Int, height: Int) throws(RecordingError) {
        buffer = try VideoFrameBuffer(width: width, height: height)
        try buffer.fill(.black)
    }

    var width: Int { buffer.width }
    var height: Int { buffer.height }

    /// Brings the canvas up to date with `placements` of `inputs` (by track index) on `background`.
    func draw(_ placements: [TilePlacement], inputs: [Int: CompositeInput], background: YUVColor) throws(RecordingError) {
        let repaintAll = placements != self.placements || background != self.background
        if repaintAll {
            try buffer.fill(background)
            self.placements = placements
            self.background = background
        }
        for placement in placements {
            guard let input = inputs[placement.track], let picture = input.picture else { continue }
            guard repaintAll || input.pictureChanged else { continue }
            // A new picture may be another size than the last: clear the cell's old bars.
            if !repaintAll { try buffer.fill(background, in: placement.cell) }
            try input.tileScaler.draw(picture.frame, into: buffer, rect: placement.cell, fit: .aspectFit)
        }
        for input in inputs.values { input.pictureChanged = false }
    }
}
