import CFFmpeg

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
    /// MP3: audio only, always encoded by us (Opus is transcoded); nothing is stream-copied.
    case mp3

    /// From a path's extension ("recording.webm" -> .webm); nil when it names none of ours.
    public init?(path: String) {
        guard let dot = path.lastIndex(of: "."),
              !path[dot...].contains("/") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "mp4", "m4a", "m4v": self = .mp4
        case "webm": self = .webm
        case "mkv", "mka": self = .mkv
        case "ogg", "oga", "opus": self = .ogg
        case "mp3": self = .mp3
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
        case .mp3: "mp3"
        }
    }

    /// Audio only: video tracks are left out (LiveKit's OGG and MP3 file types).
    public var isAudioOnly: Bool { self == .ogg || self == .mp3 }

    /// Whether the format stores codec configuration in its header, so encoders writing into it
    /// must be opened with `globalHeader` (MP4, Matroska; not Ogg's Opus or MP3).
    public var needsGlobalHeader: Bool {
        guard let format = av_guess_format(formatName, nil, nil) else { return false }
        return format.pointee.flags & AVFMT_GLOBALHEADER != 0
    }

    /// Whether `codec` can be stored as it arrives (stream copy).
    public func supports(_ codec: RecordingCodec) -> Bool {
        switch (self, codec) {
        case (.mp3, _): false
        case (.mkv, _), (_, .opus): true
        case (.mp4, .h264), (.webm, .vp8): true
        default: false
        }
    }
}
