import Egress

/// How a recording failure reads in `EgressInfo.error`: one line for an operator, naming the
/// path and what to fix, without Swift's enum syntax.
extension RecordingError {
    var reason: String {
        switch self {
        case .unwritableDirectory(let path, let why): "cannot write to directory \(path): \(why)"
        case .unsupportedCodec(let codec): "codec \(codec) cannot be recorded"
        case .codecNotAllowedInContainer(let codec, let container):
            "\(codec.rawValue) cannot be stored in .\(container.fileExtension)"
        case .invalidTrack(let why): why
        case .noTracks: "no track to record"
        case .codecFailed(let why): "transcoding failed: \(why)"
        case .muxerSetupFailed(let why): "could not open the output: \(why)"  // a file or a stream
        // The system's own words for ENOSPC, which operators grep for and `df` explains.
        case .diskFull(let path): "no space left on device while writing \(path)"
        case .writeFailed(let path, let why): "write failed for \(path): \(why)"
        case .alreadyFinished: "recording already finished"
        }
    }

    /// As `reason`, for one stream output: its setup failure already reads "cannot connect to <url>: <why>".
    var streamReason: String {
        if case .muxerSetupFailed(let why) = self { return why }
        return reason
    }
}
