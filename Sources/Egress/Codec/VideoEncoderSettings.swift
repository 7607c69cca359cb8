/// How `VideoEncoder` encodes: H.264 through libx264.
public struct VideoEncoderSettings: Sendable, Equatable {
    /// Picture size; x264 needs both even (4:2:0 chroma).
    public var width: Int
    public var height: Int
    /// Nominal frame rate, for rate control and the keyframe interval; actual frame times come
    /// from the timestamps given with each frame.
    public var framesPerSecond: Int = 30
    public var bitrate: Int = 2_000_000
    /// A keyframe at least this often, so a file can be cut and seeked.
    public var keyframeIntervalSeconds: Double = 2
    /// Timestamps given to `encode` and returned with packets are in 1/`timeBase` seconds.
    public var timeBase: Int = 90000
    /// Put SPS/PPS in the codec context's extradata instead of before each keyframe: what MP4
    /// and Matroska want (`RecordingContainer.needsGlobalHeader`).
    public var globalHeader: Bool = false
    /// x264 speed preset: "ultrafast", "superfast", "veryfast" (default) or "faster"; two shared
    /// cores leave no room for slower ones.
    public var preset: String = "veryfast"
    /// Encoder threads. One keeps several recordings from fighting over the cores.
    public var threads: Int = 1

    public init(width: Int, height: Int, framesPerSecond: Int = 30, bitrate: Int = 2_000_000,
                keyframeIntervalSeconds: Double = 2, timeBase: Int = 90000, globalHeader: Bool = false) {
        self.width = width
        self.height = height
        self.framesPerSecond = framesPerSecond
        self.bitrate = bitrate
        self.keyframeIntervalSeconds = keyframeIntervalSeconds
        self.timeBase = timeBase
        self.globalHeader = globalHeader
    }
}
