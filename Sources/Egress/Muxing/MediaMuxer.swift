import CFFmpeg

/// One output file written by libavformat. Owns the `AVFormatContext` (and its `AVIOContext`) and
/// one reusable `AVPacket`, and frees them in `deinit`.
///
/// Two kinds of stream: stream copy (`addStream(_:)`, frames as the depacketizers rebuild them,
/// timestamps in RTP clock ticks) and encoded (`addStream(from:)`, packets from our
/// `VideoEncoder`/`AudioEncoder`, timestamps in the encoder's time base).
///
/// Crash safety comes from the container settings: MP4 is fragmented (an empty `moov` up front,
/// then self-contained `moof`+`mdat` fragments at keyframes or every second), Matroska closes a
/// cluster at least every second, Ogg flushes a page every half second. Every packet is flushed to
/// the file descriptor, so a killed process leaves a file that ends at the last whole fragment.
///
/// A stream muxer (`init(streamURL:)`) writes FLV to an `rtmp://` URL through libavformat's own
/// RTMP protocol instead; the same encoded packets can go to a file and to streams at once.
public final class MediaMuxer {
    /// The file path, or the stream URL.
    public let path: String
    /// The file's container; nil for a stream (FLV).
    public let container: RecordingContainer?
    /// Set for a segmented (HLS) output: `path` is then its playlist.
    public let hls: HLSSettings?
    public private(set) var headerWritten = false
    public private(set) var streamCount = 0

    private let context: UnsafeMutablePointer<AVFormatContext>
    private var packet: UnsafeMutablePointer<AVPacket>?
    /// Time base of the timestamps callers pass, per stream (1 / RTP clock rate, or the encoder's).
    private var inputTimeBases: [AVRational] = []
    private var fileOpen = false

    /// Creates (truncates) the file at `path` at once, so an unwritable location fails here.
    public init(path: String, container: RecordingContainer) throws(RecordingError) {
        self.path = path
        self.container = container
        hls = nil
        var allocated: UnsafeMutablePointer<AVFormatContext>?
        let rc = avformat_alloc_output_context2(&allocated, nil, container.formatName, path)
        guard rc >= 0, let allocated else { throw .muxerSetupFailed(LibAVError.message(rc)) }
        context = allocated
        packet = av_packet_alloc()
        // From here every stored property is set: a throw runs deinit, which frees the packet
        // and the context (freeing them before throwing would free them twice).
        guard packet != nil else { throw .muxerSetupFailed("cannot allocate a packet") }
        let openRC = avio_open(&allocated.pointee.pb, path, AVIO_FLAG_WRITE)
        guard openRC >= 0 else {
            if LibAVError.isUnwritableLocation(openRC) {
                throw .unwritableDirectory(path: path, reason: LibAVError.message(openRC))
            }
            throw LibAVError.writeError(openRC, path: path)
        }
        fileOpen = true
        // Push each packet to the kernel: what a SIGKILL leaves then ends at a whole fragment.
        allocated.pointee.flush_packets = 1
        // Interleaving waits for every stream; do not hold video back long when audio pauses.
        allocated.pointee.max_interleave_delta = 1_000_000
    }

    /// Connects to `url` (`rtmp://host[:port]/app/key`) and muxes FLV into it, as LiveKit's egress
    /// does for RTMP. Connecting happens here, so an unreachable URL fails here. A receiver that
    /// stops reading fails a write after `timeoutSeconds` rather than blocking the writer forever.
    public init(streamURL url: String, timeoutSeconds: Int = 5) throws(RecordingError) {
        // `path` names the output in errors, which reach EgressInfo and logs: never the key.
        path = StreamURL.redacted(url)
        container = nil
        hls = nil
        var allocated: UnsafeMutablePointer<AVFormatContext>?
        let rc = avformat_alloc_output_context2(&allocated, nil, "flv", url)
        guard rc >= 0, let allocated else { throw .muxerSetupFailed(LibAVError.message(rc)) }
        context = allocated
        packet = av_packet_alloc()
        // From here every stored property is set: a throw runs deinit, which frees the packet
        // and the context (freeing them before throwing would free them twice).
        guard packet != nil else { throw .muxerSetupFailed("cannot allocate a packet") }
        var options: OpaquePointer?
        av_dict_set(&options, "rw_timeout", "\(timeoutSeconds * 1_000_000)", 0)  // microseconds
        let openRC = avio_open2(&allocated.pointee.pb, url, AVIO_FLAG_WRITE, nil, &options)
        av_dict_free(&options)
        guard openRC >= 0 else {
            throw .muxerSetupFailed("cannot connect to \(StreamURL.redacted(url)): \(LibAVError.message(openRC))")
        }
        fileOpen = true
        allocated.pointee.flush_packets = 1
        allocated.pointee.max_interleave_delta = 1_000_000
    }

    /// A segmented output: libavformat's `hls` muxer writes MPEG-TS segments and the playlist
    /// itself (it opens each file as it goes, so there is no single file to open here). The
    /// directory must exist; an unwritable one fails at `writeHeader`.
    public init(hls settings: HLSSettings) throws(RecordingError) {
        path = settings.playlistPath
        container = nil
        hls = settings
        var allocated: UnsafeMutablePointer<AVFormatContext>?
        let rc = avformat_alloc_output_context2(&allocated, nil, "hls", settings.playlistPath)
        guard rc >= 0, let allocated else { throw .muxerSetupFailed(LibAVError.message(rc)) }
        context = allocated
        packet = av_packet_alloc()
        guard packet != nil else { throw .muxerSetupFailed("cannot allocate a packet") }
        fileOpen = true
        allocated.pointee.max_interleave_delta = 1_000_000
    }

    deinit {
        closeFile()
        av_packet_free(&packet)
        avformat_free_context(context)
    }

    /// Declares a stream-copied stream; only before `writeHeader`. Returns its index.
    func addStream(_ parameters: MuxerStreamParameters) throws(RecordingError) -> Int {
        guard !headerWritten, let stream = avformat_new_stream(context, nil), let codecpar = stream.pointee.codecpar else {
            throw .muxerSetupFailed("cannot add a stream")
        }
        switch parameters.codec {
        case .vp8:
            codecpar.pointee.codec_type = AVMEDIA_TYPE_VIDEO
            codecpar.pointee.codec_id = AV_CODEC_ID_VP8
        case .h264:
            codecpar.pointee.codec_type = AVMEDIA_TYPE_VIDEO
            codecpar.pointee.codec_id = AV_CODEC_ID_H264
        case .opus:
            codecpar.pointee.codec_type = AVMEDIA_TYPE_AUDIO
            codecpar.pointee.codec_id = AV_CODEC_ID_OPUS
            // Opus always decodes at 48 kHz whatever the input rate.
            codecpar.pointee.sample_rate = 48000
            // WebRTC's usual 20 ms; MP4 wants a nominal frame size even though Opus packets vary.
            codecpar.pointee.frame_size = 960
            av_channel_layout_default(&codecpar.pointee.ch_layout, Int32(max(1, min(parameters.channels, 2))))
        }
        if parameters.codec.isVideo {
            codecpar.pointee.width = Int32(clamping: parameters.width)
            codecpar.pointee.height = Int32(clamping: parameters.height)
        }
        if !parameters.extradata.isEmpty {
            guard let copy = LibAVExtradata.copy(parameters.extradata) else {
                throw .muxerSetupFailed("cannot allocate extradata")
            }
            // Freed with the stream by avformat_free_context.
            (codecpar.pointee.extradata, codecpar.pointee.extradata_size) = copy
        }
        let timeBase = AVRational(num: 1, den: Int32(clamping: parameters.clockRate))
        stream.pointee.time_base = timeBase
        inputTimeBases.append(timeBase)
        streamCount += 1
        return Int(stream.pointee.index)
    }

    /// Declares a stream fed by `encoder` (H.264); only before `writeHeader`, and the encoder must
    /// be open. Returns its index; write its packets with `write(stream:packet:)`.
    public func addStream(from encoder: VideoEncoder) throws(RecordingError) -> Int {
        try addEncodedStream(encoder.codecContext)
    }

    /// Declares a stream fed by `encoder` (AAC, MP3 or Opus); as above.
    public func addStream(from encoder: AudioEncoder) throws(RecordingError) -> Int {
        try addEncodedStream(encoder.codecContext)
    }

    /// Codec id, size or sample format, and extradata, all from the open encoder, so the header
    /// matches what it produces. The encoder's time base becomes the stream's input time base.
    private func addEncodedStream(_ codec: UnsafePointer<AVCodecContext>) throws(RecordingError) -> Int {
        guard !headerWritten, let stream = avformat_new_stream(context, nil), let codecpar = stream.pointee.codecpar else {
            throw .muxerSetupFailed("cannot add a stream")
        }
        let rc = avcodec_parameters_from_context(codecpar, codec)
        guard rc >= 0 else { throw .muxerSetupFailed("cannot copy encoder parameters: \(LibAVError.message(rc))") }
        let timeBase = codec.pointee.time_base
        stream.pointee.time_base = timeBase
        inputTimeBases.append(timeBase)
        streamCount += 1
        return Int(stream.pointee.index)
    }

    /// Writes the container header with the crash-safe settings; the muxer may change each
    /// stream's time base here.
    public func writeHeader() throws(RecordingError) {
        guard fileOpen, !headerWritten else { throw .muxerSetupFailed("header already written") }
        var options: OpaquePointer?
        if let hls {
            av_dict_set(&options, "hls_time", "\(hls.segmentSeconds)", 0)
            // Every segment stays listed: the playlist is the whole recording, EVENT while it
            // grows, then closed with ENDLIST by the trailer.
            av_dict_set(&options, "hls_list_size", "0", 0)
            av_dict_set(&options, "hls_playlist_type", "event", 0)
            av_dict_set(&options, "hls_segment_type", hls.fragmentedMP4 ? "fmp4" : "mpegts", 0)
            if hls.fragmentedMP4 { av_dict_set(&options, "hls_fmp4_init_filename", hls.initSegmentName, 0) }
            av_dict_set(&options, "hls_segment_filename", hls.segmentPattern, 0)
            // Segments are written under a temporary name and renamed when whole, so whatever
            // the playlist lists is complete.
            av_dict_set(&options, "hls_flags", "independent_segments+temp_file", 0)
        }
        switch container {
        case nil:
            break  // FLV: each tag stands alone; HLS: set above.
        case .mp4?:
            av_dict_set(&options, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0)
            av_dict_set(&options, "frag_duration", "1000000", 0)  // microseconds
        case .webm?, .mkv?:
            av_dict_set(&options, "cluster_time_limit", "1000", 0)  // milliseconds
        case .ogg?:
            av_dict_set(&options, "page_duration", "500000", 0)  // microseconds
        case .mp3?:
            break  // MP3 frames stand alone; every flushed packet is playable as it is.
        }
        let rc = avformat_write_header(context, &options)
        av_dict_free(&options)
        guard rc >= 0 else {
            // An HLS muxer has no pb of its own (it opens each segment itself).
            let ioError = context.pointee.pb?.pointee.error ?? 0
            if LibAVError.isDiskFull(rc) || ioError < 0 {
                throw LibAVError.writeError(ioError < 0 ? ioError : rc, path: path)
            }
            if hls != nil, LibAVError.isUnwritableLocation(rc) {
                throw .unwritableDirectory(path: path, reason: LibAVError.message(rc))
            }
            throw .muxerSetupFailed(LibAVError.message(rc))
        }
        headerWritten = true
        try checkIOError()
    }

    /// Writes one frame. `pts` and `duration` are in the stream's clock ticks; frames of one
    /// stream must come with increasing `pts` (no B-frames in WebRTC, so dts = pts).
    func write(stream: Int, data: UnsafeRawBufferPointer, pts: Int64, duration: Int64, keyframe: Bool) throws(RecordingError) {
        try write(stream: stream, data: data, pts: pts, dts: pts, duration: duration, keyframe: keyframe)
    }

    /// Writes one packet of a stream declared from an encoder; timestamps in the encoder's time
    /// base, dts increasing within the stream.
    public func write(stream: Int, packet encoded: EncodedPacket) throws(RecordingError) {
        try write(stream: stream, data: encoded.data, pts: encoded.pts, dts: encoded.dts, duration: encoded.duration,
                  keyframe: encoded.isKeyframe)
    }

    private func write(stream: Int, data: UnsafeRawBufferPointer, pts: Int64, dts: Int64, duration: Int64,
                       keyframe: Bool) throws(RecordingError) {
        guard headerWritten, fileOpen, stream >= 0, stream < streamCount, let packet, let base = data.baseAddress,
              let avStream = context.pointee.streams[stream] else { return }
        let outputTimeBase = avStream.pointee.time_base
        let input = inputTimeBases[stream]
        // Not reference-counted: av_interleaved_write_frame copies the bytes, which stay ours.
        packet.pointee.data = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
        packet.pointee.size = Int32(clamping: data.count)
        packet.pointee.stream_index = Int32(stream)
        packet.pointee.pts = av_rescale_q(pts, input, outputTimeBase)
        packet.pointee.dts = av_rescale_q(dts, input, outputTimeBase)
        packet.pointee.duration = av_rescale_q(duration, input, outputTimeBase)
        packet.pointee.flags = keyframe ? AV_PKT_FLAG_KEY : 0
        let rc = av_interleaved_write_frame(context, packet)
        guard rc >= 0 else { throw LibAVError.writeError(ioErrorOr(rc), path: path) }
        try checkIOError()
    }

    /// Flushes interleaved packets, writes the trailer (index, final sizes) and closes the file.
    public func finish() throws(RecordingError) {
        defer { closeFile() }
        guard fileOpen, headerWritten else { return }
        let rc = av_write_trailer(context)
        guard rc >= 0 else { throw LibAVError.writeError(ioErrorOr(rc), path: path) }
        try checkIOError()
    }

    // MARK: Private

    private func ioErrorOr(_ code: Int32) -> Int32 {
        let ioError = context.pointee.pb?.pointee.error ?? 0
        return ioError < 0 ? ioError : code
    }

    /// avio records a failed write(2) in the context instead of returning it from each call.
    private func checkIOError() throws(RecordingError) {
        if let pb = context.pointee.pb, pb.pointee.error < 0 {
            throw LibAVError.writeError(pb.pointee.error, path: path)
        }
    }

    private func closeFile() {
        guard fileOpen else { return }
        fileOpen = false
        avio_closep(&context.pointee.pb)
    }
}
