/// Why a recording could not start or continue. The recorder never traps on these: it stops
/// writing, reports the error through `FileRecorder.onFailure`, and `finish()` throws it.
public enum RecordingError: Error, Sendable, Equatable {
    /// The output directory cannot be created or written (`reason` is the system's message).
    case unwritableDirectory(path: String, reason: String)
    /// The codec name is not one recording supports.
    case unsupportedCodec(String)
    /// The container cannot hold this codec (e.g. VP8 in MP4).
    case codecNotAllowedInContainer(codec: RecordingCodec, container: RecordingContainer)
    /// A track's kind, codec and clock rate do not fit together.
    case invalidTrack(String)
    case noTracks
    /// A decoder or encoder could not be opened or failed while running (transcoding), with
    /// libavcodec's message.
    case codecFailed(String)
    /// libavformat refused to set up the file (message from `av_strerror`).
    case muxerSetupFailed(String)
    /// The disk (or quota) is full.
    case diskFull(path: String)
    /// Any other failed write.
    case writeFailed(path: String, reason: String)
    /// `finish()` was called twice.
    case alreadyFinished
}
