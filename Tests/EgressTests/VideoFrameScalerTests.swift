import CFFmpeg
import Testing
@testable import Egress

/// Drawing a picture into a rectangle of a canvas: where it lands, and what it leaves alone.
@Suite struct VideoFrameScalerTests {
    @Test func aspectFitGeometry() {
        let tile = VideoRect(x: 320, y: 0, width: 320, height: 180)
        #expect(tile.aspectFit(sourceWidth: 320, sourceHeight: 240) == VideoRect(x: 360, y: 0, width: 240, height: 180))
        #expect(tile.aspectFit(sourceWidth: 1280, sourceHeight: 720) == tile)
        #expect(VideoRect(x: 0, y: 0, width: 100, height: 100).aspectFit(sourceWidth: 200, sourceHeight: 100)
            == VideoRect(x: 0, y: 24, width: 100, height: 50))
        #expect(VideoRect(x: 1, y: 1, width: 9, height: 9).evenAligned == VideoRect(x: 2, y: 2, width: 8, height: 8))
        #expect(VideoRect(x: -10, y: 5, width: 50, height: 50).clipped(width: 30, height: 30) == VideoRect(x: 0, y: 5, width: 30, height: 25))
    }

    @Test func drawsIntoTheRightRectangleAndLeavesTheRest() throws {
        let canvas = try VideoFrameBuffer(width: 640, height: 360)
        try canvas.fill(.black)
        let red = YUVColor(red: 220, green: 30, blue: 30)
        let source = try VideoFrameBuffer(width: 320, height: 240)
        try source.fill(red)
        let scaler = VideoFrameScaler()
        let drawn = try scaler.draw(source.frame, into: canvas, rect: VideoRect(x: 320, y: 0, width: 320, height: 180))
        #expect(drawn == VideoRect(x: 360, y: 0, width: 240, height: 180), "4:3 into 16:9 is pillarboxed")
        func luma(_ x: Int, _ y: Int) -> UInt8 { canvas.sample(plane: 0, x: x, y: y) }
        func cr(_ x: Int, _ y: Int) -> UInt8 { canvas.sample(plane: 2, x: x / 2, y: y / 2) }
        #expect(luma(480, 90) == red.y && cr(480, 90) == red.v, "inside the drawn rectangle")
        #expect(luma(362, 2) == red.y && luma(597, 177) == red.y, "to its corners")
        #expect(luma(340, 90) == YUVColor.black.y && cr(340, 90) == 128, "the bar left of it is untouched")
        #expect(luma(620, 90) == YUVColor.black.y, "and the bar right of it")
        #expect(luma(480, 200) == YUVColor.black.y, "below the rectangle")
        #expect(luma(100, 100) == YUVColor.black.y, "the rest of the canvas")

        // Same scaler, another size: the cached context follows.
        let blue = YUVColor(red: 30, green: 30, blue: 220)
        try source.fill(blue)
        try scaler.draw(source.frame, into: canvas, rect: VideoRect(x: 0, y: 180, width: 320, height: 180), fit: .stretch)
        #expect(luma(10, 190) == blue.y && luma(310, 350) == blue.y && luma(480, 90) == red.y)
    }

    @Test func emptyOrOutsideRectanglesDrawNothing() throws {
        let canvas = try VideoFrameBuffer(width: 64, height: 64)
        let source = try VideoFrameBuffer(width: 16, height: 16)
        let scaler = VideoFrameScaler()
        #expect(try scaler.draw(source.frame, into: canvas, rect: VideoRect(x: 100, y: 100, width: 10, height: 10)).isEmpty)
        #expect(try scaler.draw(source.frame, into: canvas, rect: VideoRect(x: 0, y: 0, width: 1, height: 1)).isEmpty)
    }
}
