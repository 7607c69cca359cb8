import CFFmpeg

/// Encodes YUV 4:2:0 pictures to H.264 with libx264 (libavcodec). Owns the codec context, one
/// frame header and one packet, freed in `deinit`.
///
/// Tuned for recording live sources: `zerolatency` (no B-frames, no lookahead), so each picture
/// comes back as a packet at once with dts = pts, and packets can be muxed as they arrive.
public final class VideoEncoder {
    public let settings: VideoEncoderSettings
    /// The codec configuration (Annex-B SPS and PPS) when `globalHeader` is set; empty otherwise.
    public let extradata: [UInt8]
    public private(set) var framesEncoded = 0

    let context: UnsafeMutablePointer<AVCodecContext>
    private var input: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var lastPTS: Int64?
    /// Durations of pictures sent and not yet returned (x264 does not carry them through),
    /// oldest first. Zerolatency returns each picture at once, so this holds one or two.
    private var pendingDurations: [(pts: Int64, duration: Int64)] = []

    public init(_ settings: VideoEncoderSettings) throws(RecordingError) {
        LibAVLogLevel.warningsOnly
        guard settings.width > 0, settings.height > 0, settings.width % 2 == 0, settings.height % 2 == 0 else {
            throw .codecFailed("H.264 needs an even picture size, not \(settings.width)x\(settings.height)")
        }
        guard let encoder = avcodec_find_encoder_by_name("libx264") else { throw .codecFailed("libavcodec has no libx264 encoder") }
        guard let context = avcodec_alloc_context3(encoder) else { throw .codecFailed("cannot allocate an encoder") }
        self.context = context
        self.settings = settings
        input = av_frame_alloc()
        packet = av_packet_alloc()
        let fps = max(1, settings.framesPerSecond)
        context.pointee.width = Int32(settings.width)
        context.pointee.height = Int32(settings.height)
        context.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        context.pointee.time_base = AVRational(num: 1, den: Int32(clamping: settings.timeBase))
        context.pointee.framerate = AVRational(num: Int32(fps), den: 1)
        context.pointee.bit_rate = Int64(settings.bitrate)
        context.pointee.gop_size = Int32(max(1, (Double(fps) * settings.keyframeIntervalSeconds).rounded()))
        context.pointee.max_b_frames = 0
        context.pointee.thread_count = Int32(max(1, settings.threads))
        if settings.globalHeader { context.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER) }
        av_opt_set(context.pointee.priv_data, "preset", settings.preset, 0)
        av_opt_set(context.pointee.priv_data, "tune", "zerolatency", 0)
        var rc = input == nil || packet == nil ? -12 : Int32(0)
        if rc >= 0 { rc = avcodec_open2(context, encoder, nil) }
        if rc >= 0, context.pointee.extradata_size > 0, let bytes = context.pointee.extradata {
            extradata = Array(UnsafeBufferPointer(start: bytes, count: Int(context.pointee.extradata_size)))
        } else {
            extradata = []
        }
        pendingDurations.reserveCapacity(8)
        guard rc >= 0 else {
            throw .codecFailed("cannot open the H.264 encoder at \(settings.width)x\(settings.height): \(LibAVError.message(rc))")
        }
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = self.context
        avcodec_free_context(&context)
        av_frame_free(&input)
        av_packet_free(&packet)
    }

    /// The time base of `pts` in and out.
    public var timeBase: AVRational { context.pointee.time_base }
    /// For `MediaMuxer.addStream(from:)`.
    public var codecContext: UnsafePointer<AVCodecContext> { UnsafePointer(context) }

    /// Encodes one YUV 4:2:0 picture at least as large as the encoder's size (a larger one is
    /// cropped at the right and bottom: how an odd-sized stream fits x264's even size) and calls
    /// `body` with the packets it completes. `pts` must increase; one that does not is moved just
    /// after the previous, since x264 refuses non-increasing timestamps.
    public func encode(_ picture: UnsafePointer<AVFrame>, pts: Int64, duration: Int64 = 0, forceKeyframe: Bool = false,
                       _ body: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        guard let input else { return }
        let format = picture.pointee.format
        guard format == AV_PIX_FMT_YUV420P.rawValue || format == AV_PIX_FMT_YUVJ420P.rawValue,
              Int(picture.pointee.width) >= settings.width, Int(picture.pointee.height) >= settings.height else {
            throw .codecFailed("the encoder takes \(settings.width)x\(settings.height) YUV 4:2:0, got \(picture.pointee.width)x\(picture.pointee.height) format \(format)")
        }
        var rc = av_frame_ref(input, picture)
        guard rc >= 0 else { throw .codecFailed("cannot reference a picture: \(LibAVError.message(rc))") }
        var pts = pts
        if let lastPTS, pts <= lastPTS { pts = lastPTS + 1 }
        lastPTS = pts
        input.pointee.width = Int32(settings.width)
        input.pointee.height = Int32(settings.height)
        input.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        input.pointee.pts = pts
        input.pointee.pict_type = forceKeyframe ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE
        pendingDurations.append((pts, duration))
        rc = avcodec_send_frame(context, input)
        av_frame_unref(input)
        guard rc >= 0 else { throw .codecFailed("H.264 encoding failed: \(LibAVError.message(rc))") }
        framesEncoded += 1
        try receive(body)
    }

    /// Ends the stream: returns the packets x264 still holds. The encoder takes no more pictures.
    public func flush(_ body: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        let rc = avcodec_send_frame(context, nil)
        guard rc >= 0 || rc == LibAVError.endOfFile else { throw .codecFailed("H.264 flush failed: \(LibAVError.message(rc))") }
        try receive(body)
    }

    private func receive(_ body: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        guard let packet else { return }
        while true {
            let rc = avcodec_receive_packet(context, packet)
            if rc == LibAVError.tryAgain || rc == LibAVError.endOfFile { return }
            guard rc >= 0 else { throw .codecFailed("H.264 encoding failed: \(LibAVError.message(rc))") }
            var duration = packet.pointee.duration
            if let index = pendingDurations.firstIndex(where: { $0.pts == packet.pointee.pts }) {
                if duration <= 0 { duration = pendingDurations[index].duration }
                pendingDurations.removeSubrange(...index)
            }
            let encoded = EncodedPacket(data: UnsafeRawBufferPointer(start: packet.pointee.data, count: Int(packet.pointee.size)),
                                        pts: packet.pointee.pts, dts: packet.pointee.dts, duration: duration,
                                        isKeyframe: packet.pointee.flags & AV_PKT_FLAG_KEY != 0)
            do {
                try body(encoded)
            } catch {
                av_packet_unref(packet)
                throw error
            }
            av_packet_unref(packet)
        }
    }
}
