/// What the container header needs to know about one stream before the first frame is written.
struct MuxerStreamParameters {
    var codec: RecordingCodec
    /// Frames are given in ticks of this clock (the track's RTP clock rate).
    var clockRate: Int
    var width = 0
    var height = 0
    var channels = 2
    /// Decoder configuration: OpusHead for Opus, avcC for H.264, nothing for VP8.
    var extradata: [UInt8] = []
}
