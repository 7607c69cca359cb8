/// A rectangle of a picture in pixels, origin top-left.
public struct VideoRect: Sendable, Equatable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var isEmpty: Bool { width <= 0 || height <= 0 }

    /// The part of `self` inside a `width` x `height` picture.
    public func clipped(width pictureWidth: Int, height pictureHeight: Int) -> VideoRect {
        let left = max(0, x), top = max(0, y)
        let right = min(pictureWidth, x + width), bottom = min(pictureHeight, y + height)
        return VideoRect(x: left, y: top, width: max(0, right - left), height: max(0, bottom - top))
    }

    /// Shrunk to even coordinates and sizes: in 4:2:0 one chroma sample covers 2x2 luma samples,
    /// so a rectangle that starts or ends on an odd pixel would smear into its neighbour.
    public var evenAligned: VideoRect {
        let left = (x + 1) & ~1, top = (y + 1) & ~1
        let right = (x + width) & ~1, bottom = (y + height) & ~1
        return VideoRect(x: left, y: top, width: max(0, right - left), height: max(0, bottom - top))
    }

    /// The largest rectangle with the aspect ratio `sourceWidth:sourceHeight` that fits inside
    /// `self`, centred, with even coordinates and sizes (letterbox or pillarbox).
    public func aspectFit(sourceWidth: Int, sourceHeight: Int) -> VideoRect {
        guard sourceWidth > 0, sourceHeight > 0, !isEmpty else { return VideoRect(x: x, y: y, width: 0, height: 0) }
        var fitWidth = width, fitHeight = height
        if width * sourceHeight > height * sourceWidth {
            fitWidth = (height * sourceWidth + sourceHeight / 2) / sourceHeight
        } else {
            fitHeight = (width * sourceHeight + sourceWidth / 2) / sourceWidth
        }
        fitWidth = max(2, fitWidth & ~1)
        fitHeight = max(2, fitHeight & ~1)
        let left = (x + (width - fitWidth) / 2) & ~1
        let top = (y + (height - fitHeight) / 2) & ~1
        return VideoRect(x: left, y: top, width: min(fitWidth, width), height: min(fitHeight, height))
    }

    public var description: String { "\(width)x\(height)@(\(x),\(y))" }
}
