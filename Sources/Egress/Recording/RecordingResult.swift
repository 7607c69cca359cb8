/// What a finished recording produced, in the shape LiveKit's `FileInfo` reports.
public struct RecordingResult: Sendable, Equatable {
    /// Path of the file written.
    public var filename: String
    /// File size in bytes.
    public var sizeBytes: Int64
    /// Media duration: from the first to the end of the last frame written, in nanoseconds.
    public var durationNanoseconds: Int64
    /// Wall-clock (Unix epoch) nanoseconds of the first packet received and of `finish()`.
    public var startedAtNanoseconds: Int64
    public var endedAtNanoseconds: Int64
    /// Frames written per track, in track order.
    public var framesWritten: [Int]
    /// Composite video frames left out because the writer was behind (0 for track recordings).
    public var videoFramesSkipped = 0
    /// The stream outputs (RTMP) written beside or instead of the file, in the order asked.
    public var streams: [StreamResult] = []
    /// The segmented (HLS) output, if one was written.
    public var segments: SegmentsResult?

    public init(filename: String, sizeBytes: Int64, durationNanoseconds: Int64, startedAtNanoseconds: Int64,
                endedAtNanoseconds: Int64, framesWritten: [Int]) {
        self.filename = filename
        self.sizeBytes = sizeBytes
        self.durationNanoseconds = durationNanoseconds
        self.startedAtNanoseconds = startedAtNanoseconds
        self.endedAtNanoseconds = endedAtNanoseconds
        self.framesWritten = framesWritten
    }
}

/// How one stream output (an RTMP URL) went.
public struct StreamResult: Sendable, Equatable {
    /// The URL as given (with its key: redact before showing it, see `StreamURL`).
    public var url: String
    /// Wall-clock (Unix epoch) ns when the connection was made and the header sent; nil if never.
    public var startedAtNanoseconds: Int64?
    /// When it ended: at finish, or when it failed.
    public var endedAtNanoseconds: Int64?
    /// Why it stopped early (cannot connect, connection lost); nil if it ran to the end. Errors
    /// name the URL with its key redacted.
    public var failure: RecordingError?

    public init(url: String, startedAtNanoseconds: Int64? = nil, endedAtNanoseconds: Int64? = nil,
                failure: RecordingError? = nil) {
        self.url = url
        self.startedAtNanoseconds = startedAtNanoseconds
        self.endedAtNanoseconds = endedAtNanoseconds
        self.failure = failure
    }
}

/// What a segmented (HLS) output holds once closed, as LiveKit's `SegmentsInfo` reports it.
public struct SegmentsResult: Sendable, Equatable {
    public var playlistPath: String
    public var livePlaylistPath: String?
    /// The segment files, in playlist order (fMP4's init segment first).
    public var segmentPaths: [String]
    /// Media segments (without the init segment).
    public var segmentCount: Int
    public var durationNanoseconds: Int64
    /// Bytes of all segments.
    public var sizeBytes: Int64

    public init(playlistPath: String, livePlaylistPath: String?, segmentPaths: [String], segmentCount: Int,
                durationNanoseconds: Int64, sizeBytes: Int64) {
        self.segmentCount = segmentCount
        self.playlistPath = playlistPath
        self.livePlaylistPath = livePlaylistPath
        self.segmentPaths = segmentPaths
        self.durationNanoseconds = durationNanoseconds
        self.sizeBytes = sizeBytes
    }
}
