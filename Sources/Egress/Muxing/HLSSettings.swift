/// Where and how a segmented (HLS) output is written, as LiveKit's `SegmentedFileOutput` asks:
/// MPEG-TS (or, for HLS_FMP4_PROTOCOL, fragmented MP4 after one init segment) segments of about `segmentSeconds` each (cut at keyframes, so the encoder's keyframe
/// interval should not exceed it), a playlist that grows while recording (an HLS EVENT playlist)
/// and is closed with `#EXT-X-ENDLIST` at the end, and optionally a live playlist beside it that
/// lists only the newest segments (a sliding window, for players that join late).
public struct HLSSettings: Sendable, Equatable {
    /// The main playlist's path (`.m3u8`).
    public var playlistPath: String
    /// The segments' paths: a printf pattern with one `%05d` for the segment number.
    public var segmentPattern: String
    /// fMP4 segments (`.m4s`) after an init segment, instead of MPEG-TS.
    public var fragmentedMP4 = false
    /// The fMP4 init segment's file name, in the playlist's directory.
    public var initSegmentName = "init.mp4"
    public var segmentSeconds: Int
    /// The live playlist's path, in the main playlist's directory; nil for none.
    public var livePlaylistPath: String?
    /// Segments the live playlist keeps.
    public var liveWindow = 5

    public init(playlistPath: String, segmentPattern: String, segmentSeconds: Int, livePlaylistPath: String? = nil) {
        self.playlistPath = playlistPath
        self.segmentPattern = segmentPattern
        self.segmentSeconds = segmentSeconds
        self.livePlaylistPath = livePlaylistPath
    }
}
