/// The codecs built-in recording can store without transcoding.
public enum RecordingCodec: String, Sendable, Equatable, CaseIterable {
    case vp8 = "VP8"
    case h264 = "H264"
    case opus = "opus"

    /// From an SDP rtpmap encoding name, case-insensitively ("VP8", "H264", "opus"); nil for
    /// codecs recording does not handle yet.
    public init?(name: String) {
        switch name.lowercased() {
        case "vp8": self = .vp8
        case "h264": self = .h264
        case "opus": self = .opus
        default: return nil
        }
    }

    public var isVideo: Bool { self != .opus }
}
