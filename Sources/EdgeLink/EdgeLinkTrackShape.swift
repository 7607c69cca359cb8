/// What the edge needs to publish a mirror shaped like the origin's track: its kind, codec as
/// negotiated with the publisher, the publisher's SSRC (mirrors keep it, so PLI/FIR from the
/// edge's viewers name the right stream) and each simulcast layer's size, lowest first.
public struct EdgeLinkTrackShape: Equatable, Sendable {
    public var isVideo: Bool
    public var codecName: String
    public var payloadType: UInt8
    public var clockRate: UInt32
    public var channels: UInt8
    public var fmtp: String
    public var ssrc: UInt32
    public var audioLevelExtensionID: UInt8
    public var layers: [(width: UInt16, height: UInt16)]

    public init(isVideo: Bool, codecName: String, payloadType: UInt8, clockRate: UInt32, channels: UInt8 = 0,
                fmtp: String = "", ssrc: UInt32, audioLevelExtensionID: UInt8 = 0,
                layers: [(width: UInt16, height: UInt16)]) {
        self.isVideo = isVideo
        self.codecName = codecName
        self.payloadType = payloadType
        self.clockRate = clockRate
        self.channels = channels
        self.fmtp = fmtp
        self.ssrc = ssrc
        self.audioLevelExtensionID = audioLevelExtensionID
        self.layers = layers
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.isVideo == b.isVideo && a.codecName == b.codecName && a.payloadType == b.payloadType
            && a.clockRate == b.clockRate && a.channels == b.channels && a.fmtp == b.fmtp && a.ssrc == b.ssrc
            && a.audioLevelExtensionID == b.audioLevelExtensionID
            && a.layers.map(\.width) == b.layers.map(\.width) && a.layers.map(\.height) == b.layers.map(\.height)
    }
}
