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
