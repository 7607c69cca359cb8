/// A colour as 8-bit limited-range Y'CbCr (BT.601), the values a YUV 4:2:0 plane stores.
public struct YUVColor: Sendable, Equatable {
    public var y: UInt8
    public var u: UInt8
    public var v: UInt8

    public init(y: UInt8, u: UInt8, v: UInt8) {
        self.y = y
        self.u = u
        self.v = v
    }

    /// From 8-bit RGB, with BT.601's limited-range integer approximation (what most players
    /// assume for SD and untagged video).
    public init(red: UInt8, green: UInt8, blue: UInt8) {
        let r = Int(red), g = Int(green), b = Int(blue)
        y = UInt8(clamping: ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16)
        u = UInt8(clamping: ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128)
        v = UInt8(clamping: ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128)
    }

    public static let black = YUVColor(y: 16, u: 128, v: 128)
}
