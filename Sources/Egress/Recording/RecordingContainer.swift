/// The file formats built-in recording writes, and which codecs each may hold.
public enum RecordingContainer: String, Sendable, Equatable, CaseIterable {
    /// Fragmented MP4: H.264 and Opus.
    case mp4
    /// WebM (Matroska subset): VP8 and Opus.
    case webm
    /// Matroska: any of our codecs.
    case mkv
    /// Ogg: Opus only.
    case ogg

    /// From a path's extension ("recording.webm" -> .webm); nil when it names none of ours.
    public init?(path: String) {
        guard let dot = path.lastIndex(of: "."),
              !path[dot...].contains("/") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "mp4", "m4a", "m4v": self = .mp4
        case "webm": self = .webm
        case "mkv", "mka": self = .mkv
        case "ogg", "oga", "opus": self = .ogg
        default: return nil
        }
    }

    /// LiveKit's choice for a single-track file (track egress): VP8 -> WebM, H.264 -> MP4,
    /// Opus -> Ogg. For several tracks, the video codec decides.
    public static func preferred(for codecs: [RecordingCodec]) -> RecordingContainer {
        if codecs.contains(.h264) { return codecs.contains(.vp8) ? .mkv : .mp4 }
        if codecs.contains(.vp8) { return .webm }
        return .ogg
    }

    public var fileExtension: String { rawValue }

    /// libavformat's short name of the muxer.
    var formatName: String {
        switch self {
        case .mp4: "mp4"
        case .webm: "webm"
        case .mkv: "matroska"
        case .ogg: "ogg"
        }
    }

    public func supports(_ codec: RecordingCodec) -> Bool {
        switch (self, codec) {
        case (.mkv, _), (_, .opus): true
        case (.mp4, .h264), (.webm, .vp8): true
        default: false
        }
    }
}
