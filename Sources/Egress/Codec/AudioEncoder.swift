import CFFmpeg

/// Encodes float audio to AAC, MP3 or Opus (libavcodec). Owns the codec context, one frame (sized
/// to the encoder's `frame_size`) and one packet, freed in `deinit`.
///
/// Takes runs of any length and re-chunks them to the encoder's frame size. Timestamps are in
/// samples (time base 1/`sampleRate`). The first run's pts starts the stream; after that each
/// frame's pts follows from the samples before it, and a run whose pts is ahead of the samples
/// received (lost packets, a muted or paused publisher) is preceded by silence up to it, so that
/// audio stays in step with the clock even in formats without timestamps, such as MP3.
public final class AudioEncoder {
    public let settings: AudioEncoderSettings
    /// Samples per encoded frame (the encoder's `frame_size`).
    public let frameSize: Int
    /// The codec configuration (AAC's AudioSpecificConfig, OpusHead); may be empty (MP3).
    public let extradata: [UInt8]
    /// Samples of silence inserted for gaps in the input timestamps.
    public private(set) var silenceInserted: Int64 = 0
    /// A gap in input timestamps above this is not filled (a clock jump, not missing audio).
    public var maxGapSamples: Int64

    let context: UnsafeMutablePointer<AVCodecContext>
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var fifo: AudioSampleFIFO
    /// pts of the next sample the FIFO will receive, and of the next frame sent to the encoder.
    private var nextInputPTS: Int64?
    private var nextFramePTS: Int64 = 0
    private var smallLastFrame = false
    private var flushed = false

    public init(_ settings: AudioEncoderSettings) throws(RecordingError) {
        LibAVLogLevel.warningsOnly
        let encoder: UnsafePointer<AVCodec>?
        switch settings.codec {
        case .aac: encoder = avcodec_find_encoder(AV_CODEC_ID_AAC)
        case .mp3: encoder = avcodec_find_encoder_by_name("libmp3lame")
        case .opus: encoder = avcodec_find_encoder_by_name("libopus")
        }
        guard let encoder else { throw .codecFailed("libavcodec has no \(settings.codec.rawValue) encoder") }
        guard let sampleFormat = Self.floatFormat(of: encoder) else {
            throw .codecFailed("the \(settings.codec.rawValue) encoder takes no float samples")
        }
        guard let context = avcodec_alloc_context3(encoder) else { throw .codecFailed("cannot allocate an encoder") }
        self.context = context
        self.settings = settings
        let channels = max(1, min(settings.channels, 2))
        fifo = AudioSampleFIFO(channels: channels)
        maxGapSamples = Int64(settings.sampleRate) * 60
        frame = av_frame_alloc()
        packet = av_packet_alloc()
        context.pointee.sample_fmt = sampleFormat
        context.pointee.sample_rate = Int32(settings.sampleRate)
        av_channel_layout_default(&context.pointee.ch_layout, Int32(channels))
        context.pointee.bit_rate = Int64(settings.bitrate)
        context.pointee.time_base = AVRational(num: 1, den: Int32(settings.sampleRate))
        if settings.globalHeader { context.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER) }
        var rc = frame == nil || packet == nil ? -12 : Int32(0)
        if rc >= 0 { rc = avcodec_open2(context, encoder, nil) }
        guard rc >= 0 else {
            frameSize = 0
            extradata = []
            throw .codecFailed("cannot open the \(settings.codec.rawValue) encoder (\(settings.sampleRate) Hz, \(channels) ch): \(LibAVError.message(rc))")
        }
        // Encoders that take any frame size report 0; give them 20 ms.
        frameSize = context.pointee.frame_size > 0 ? Int(context.pointee.frame_size) : settings.sampleRate / 50
        smallLastFrame = encoder.pointee.capabilities & Int32(AV_CODEC_CAP_SMALL_LAST_FRAME) != 0
        if context.pointee.extradata_size > 0, let bytes = context.pointee.extradata {
            extradata = Array(UnsafeBufferPointer(start: bytes, count: Int(context.pointee.extradata_size)))
        } else {
            extradata = []
        }
        guard let frame else { throw .codecFailed("cannot allocate a frame") }
        frame.pointee.format = sampleFormat.rawValue
        frame.pointee.nb_samples = Int32(frameSize)
        frame.pointee.sample_rate = Int32(settings.sampleRate)
        av_channel_layout_copy(&frame.pointee.ch_layout, &context.pointee.ch_layout)
        rc = av_frame_get_buffer(frame, 0)
        guard rc >= 0 else { throw .codecFailed("cannot allocate an audio frame: \(LibAVError.message(rc))") }
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = self.context
        avcodec_free_context(&context)
        av_frame_free(&frame)
        av_packet_free(&packet)
    }

    public var timeBase: AVRational { context.pointee.time_base }
    /// For `MediaMuxer.addStream(from:)`.
    public var codecContext: UnsafePointer<AVCodecContext> { UnsafePointer(context) }

    /// Adds a run of samples starting at `pts` (samples at `sampleRate`; nil: right after the
    /// previous run) and calls `body` with each packet completed.
    public func encode(_ audio: PlanarAudio, pts: Int64? = nil, _ body: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        guard !flushed, audio.sampleCount > 0 else { return }
        if let expected = nextInputPTS {
            if let pts, pts > expected, pts - expected <= maxGapSamples {
                try insertSilence(Int(pts - expected), body)
            }
        } else {
            nextFramePTS = pts ?? 0
            nextInputPTS = nextFramePTS
        }
        fifo.append(audio)
        nextInputPTS = (nextInputPTS ?? 0) + Int64(audio.sampleCount)
        try sendFullFrames(body)
    }

    /// Encodes what is buffered (the last frame shorter, or padded with silence where the codec
    /// needs whole frames) and drains the encoder. It takes no more samples afterwards.
    public func flush(_ body: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        guard !flushed else { return }
        if fifo.count > 0 {
            if !smallLastFrame { fifo.appendSilence(frameSize - fifo.count) }
            try sendFrame(samples: min(fifo.count, frameSize), body)
        }
        flushed = true
        let rc = avcodec_send_frame(context, nil)
        guard rc >= 0 || rc == LibAVError.endOfFile else {
            throw .codecFailed("\(settings.codec.rawValue) flush failed: \(LibAVError.message(rc))")
        }
        try receive(body)
    }

    // MARK: Private

    private func insertSilence(_ samples: Int, _ body: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        var remaining = samples
        while remaining > 0 {
            let chunk = min(remaining, frameSize)
            fifo.appendSilence(chunk)
            remaining -= chunk
            try sendFullFrames(body)
        }
        silenceInserted += Int64(samples)
        nextInputPTS = (nextInputPTS ?? 0) + Int64(samples)
    }

    private func sendFullFrames(_ body: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        while fifo.count >= frameSize { try sendFrame(samples: frameSize, body) }
    }

    private func sendFrame(samples: Int, _ body: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        guard let frame else { return }
        var rc = av_frame_make_writable(frame)
        guard rc >= 0 else { throw .codecFailed("cannot write an audio frame: \(LibAVError.message(rc))") }
        frame.pointee.nb_samples = Int32(samples)
        _ = fifo.read(samples, into: frame)
        frame.pointee.pts = nextFramePTS
        nextFramePTS += Int64(samples)
        rc = avcodec_send_frame(context, frame)
        guard rc >= 0 else { throw .codecFailed("\(settings.codec.rawValue) encoding failed: \(LibAVError.message(rc))") }
        try receive(body)
    }

    private func receive(_ body: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        guard let packet else { return }
        while true {
            let rc = avcodec_receive_packet(context, packet)
            if rc == LibAVError.tryAgain || rc == LibAVError.endOfFile { return }
            guard rc >= 0 else { throw .codecFailed("\(settings.codec.rawValue) encoding failed: \(LibAVError.message(rc))") }
            let encoded = EncodedPacket(data: UnsafeRawBufferPointer(start: packet.pointee.data, count: Int(packet.pointee.size)),
                                        pts: packet.pointee.pts, dts: packet.pointee.dts, duration: packet.pointee.duration,
                                        isKeyframe: true)
            do {
                try body(encoded)
            } catch {
                av_packet_unref(packet)
                throw error
            }
            av_packet_unref(packet)
        }
    }

    /// Planar float if the encoder takes it (AAC, MP3), else interleaved float (libopus).
    private static func floatFormat(of encoder: UnsafePointer<AVCodec>) -> AVSampleFormat? {
        guard let formats = encoder.pointee.sample_fmts else { return AV_SAMPLE_FMT_FLTP }
        var supported: [AVSampleFormat] = []
        var index = 0
        while formats[index] != AV_SAMPLE_FMT_NONE {
            supported.append(formats[index])
            index += 1
        }
        if supported.contains(AV_SAMPLE_FMT_FLTP) { return AV_SAMPLE_FMT_FLTP }
        if supported.contains(AV_SAMPLE_FMT_FLT) { return AV_SAMPLE_FMT_FLT }
        return nil
    }
}
