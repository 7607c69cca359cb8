/// How one track goes into a file: copied as it arrives, or decoded and encoded again because the
/// container cannot hold its codec or the request asked for another.
public enum TrackOutput: Sendable, Equatable {
    /// Stream copy: the publisher's frames as they are.
    case copy
    /// Video decoded and encoded to H.264 (libx264) at the publisher's size.
    case h264
    /// Opus decoded and encoded to AAC, MP3 or Opus.
    case audio(AudioEncoderSettings.Codec)

    public var isTranscoded: Bool { self != .copy }
}

extension RecordingContainer {
    /// What a track of `codec` becomes in this container; nil when it cannot go in at all
    /// (video in an audio-only file, H.264 in WebM: we do not encode VP8).
    ///
    /// - video: copied where the container takes the codec, else encoded to H.264 where the
    ///   container takes H.264 (VP8 in MP4).
    /// - audio: `audioCodec` is the request's wish (nil: no wish). MP3 files are always encoded
    ///   to MP3. Otherwise Opus is copied unless another codec is asked for, and that codec
    ///   must fit the container (AAC or MP3 in MP4 and Matroska).
    public func output(for codec: RecordingCodec, audioCodec: AudioEncoderSettings.Codec? = nil) -> TrackOutput? {
        if codec.isVideo {
            if isAudioOnly { return nil }
            if supports(codec) { return .copy }
            return self == .mp4 ? .h264 : nil
        }
        if self == .mp3 { return audioCodec == nil || audioCodec == .mp3 ? .audio(.mp3) : nil }
        switch audioCodec {
        case nil, .opus?:
            return supports(codec) ? .copy : nil
        case let wanted?:
            return self == .mp4 || self == .mkv ? .audio(wanted) : nil
        }
    }
}
