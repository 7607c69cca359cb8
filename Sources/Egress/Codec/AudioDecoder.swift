import CFFmpeg

/// Decodes Opus packets to 48 kHz float planar audio (libavcodec's Opus decoder). Owns the codec
/// context, one packet, one frame and a padded input buffer, freed in `deinit`.
///
/// A packet that does not decode is counted, not thrown: one bad packet costs 20 ms of audio, not
/// the recording. Lost packets are not concealed here; the encoder fills the gap with silence from
/// the timestamps, which keeps audio in step with video.
public final class AudioDecoder {
    public static let sampleRate = 48000
    public let channels: Int
    public private(set) var errors = 0

    private let context: UnsafeMutablePointer<AVCodecContext>
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var input: [UInt8] = []

    /// `channels`: 1 or 2, as the track negotiated (WebRTC's Opus always says 2).
    public init(channels: Int = 2) throws(RecordingError) {
        LibAVLogLevel.warningsOnly
        guard let decoder = avcodec_find_decoder(AV_CODEC_ID_OPUS) else { throw .codecFailed("libavcodec has no Opus decoder") }
        guard let context = avcodec_alloc_context3(decoder) else { throw .codecFailed("cannot allocate a decoder") }
        self.context = context
        self.channels = max(1, min(channels, 2))
        packet = av_packet_alloc()
        frame = av_frame_alloc()
        guard packet != nil, frame != nil else { throw .codecFailed("cannot allocate a packet or frame") }
        context.pointee.sample_rate = Int32(Self.sampleRate)
        av_channel_layout_default(&context.pointee.ch_layout, Int32(self.channels))
        context.pointee.request_sample_fmt = AV_SAMPLE_FMT_FLTP
        let head = CodecConfiguration.opusHead(channels: self.channels)
        guard let copy = LibAVExtradata.copy(head) else { throw .codecFailed("cannot allocate extradata") }
        // Freed by avcodec_free_context.
        (context.pointee.extradata, context.pointee.extradata_size) = copy
        let rc = avcodec_open2(context, decoder, nil)
        guard rc >= 0 else { throw .codecFailed("cannot open the Opus decoder: \(LibAVError.message(rc))") }
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = self.context
        avcodec_free_context(&context)
        av_packet_free(&packet)
        av_frame_free(&frame)
    }

    /// Decodes one Opus packet; calls `body` with its samples (borrowed until `body` returns) and
    /// their pts, which is the packet's `pts` (in samples at 48 kHz when that is what the caller
    /// passes).
    public func decode(_ data: UnsafeRawBufferPointer, pts: Int64, _ body: (PlanarAudio, Int64) -> Void) {
        guard let packet, let frame, !data.isEmpty else { return }
        let padding = Int(AV_INPUT_BUFFER_PADDING_SIZE)
        input.removeAll(keepingCapacity: true)
        input.append(contentsOf: data)
        input.append(contentsOf: repeatElement(0, count: padding))
        let rc: Int32 = input.withUnsafeMutableBufferPointer { buffer in
            packet.pointee.data = buffer.baseAddress
            packet.pointee.size = Int32(buffer.count - padding)
            packet.pointee.pts = pts
            packet.pointee.dts = pts
            return avcodec_send_packet(context, packet)
        }
        packet.pointee.data = nil
        packet.pointee.size = 0
        if rc < 0, rc != LibAVError.tryAgain {
            errors += 1
            return
        }
        while true {
            let received = avcodec_receive_frame(context, frame)
            if received == LibAVError.tryAgain || received == LibAVError.endOfFile { return }
            guard received >= 0 else {
                errors += 1
                return
            }
            if let audio = PlanarAudio(frame: frame) {
                body(audio, frame.pointee.pts == Int64.min ? pts : frame.pointee.pts)
            } else {
                errors += 1
            }
            av_frame_unref(frame)
        }
    }
}
