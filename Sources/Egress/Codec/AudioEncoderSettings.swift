/// How `AudioEncoder` encodes.
public struct AudioEncoderSettings: Sendable, Equatable {
    public enum Codec: String, Sendable, Equatable, CaseIterable {
        /// libavcodec's native AAC-LC encoder.
        case aac
        /// MP3 through libmp3lame.
        case mp3
        /// Opus through libopus.
        case opus
    }

    public var codec: Codec
    /// Opus decodes to 48 kHz, and all three encoders take it, so no resampling is ever needed.
    public var sampleRate: Int = 48000
    /// 1 or 2; input with another count is mixed to this one.
    public var channels: Int = 2
    public var bitrate: Int = 128_000
    /// Put the codec configuration in extradata (AAC's AudioSpecificConfig): what MP4 wants
    /// (`RecordingContainer.needsGlobalHeader`).
    public var globalHeader: Bool = false

    public init(codec: Codec, sampleRate: Int = 48000, channels: Int = 2, bitrate: Int = 128_000, globalHeader: Bool = false) {
        self.codec = codec
        self.sampleRate = sampleRate
        self.channels = channels
        self.bitrate = bitrate
        self.globalHeader = globalHeader
    }
}
