/// A solid colour for the composite's canvas, given in RGB and drawn in the YUV 4:2:0 the encoder
/// takes.
///
/// The conversion is BT.601 with limited ("TV") range, what swscale and libx264 assume for
/// YUV420P without other colour information, so a player shows back the RGB asked for.
public struct CanvasColour: Sendable, Equatable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// Luma and the two chroma samples, rounded.
    public var yuv: (y: UInt8, u: UInt8, v: UInt8) {
        let r = Double(red), g = Double(green), b = Double(blue)
        let y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
        let u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
        let v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
        return (Self.byte(y), Self.byte(u), Self.byte(v))
    }

    private static func byte(_ value: Double) -> UInt8 {
        UInt8(max(0, min(255, value.rounded())))
    }
}
