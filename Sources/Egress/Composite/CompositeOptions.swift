/// What a room composite produces: canvas, frame rate, encoder settings, which media, the layout.
///
/// The defaults are LiveKit's (H264_1080P_30: 1920x1080, 30 fps, 4.5 Mbit/s video, AAC at
/// 128 kbit/s), except the audio rate: Sluice mixes at 48 kHz, Opus's own rate, and encodes at
/// that rate rather than resampling to LiveKit's 44.1 kHz.
public struct CompositeOptions: Sendable, Equatable {
    public enum AudioCodec: String, Sendable, Equatable {
        case aac, opus, mp3
    }

    public var width = 1920
    public var height = 1080
    public var framerate = 30
    /// Bits per second.
    public var videoBitrate = 4_500_000
    public var keyframeIntervalSeconds = 4.0
    public var audioCodec = AudioCodec.aac
    /// Bits per second.
    public var audioBitrate = 128_000
    public var includesVideo = true
    public var includesAudio = true
    public var layout = CompositeLayout(.grid)
    public var container = RecordingContainer.mp4

    /// The mix's sample rate and channel count.
    public static let audioSampleRate = 48000
    public static let audioChannels = 2

    public init() {}
}
