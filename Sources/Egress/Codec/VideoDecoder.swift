import CFFmpeg

/// Decodes VP8 or H.264 frames, as the depacketizers rebuild them, into YUV 4:2:0 pictures
/// (libavcodec). Owns the codec context, one packet, one frame, a padded input buffer and, when a
/// stream decodes to another pixel format, a scaler and the picture it converts into; all freed in
/// `deinit`.
///
/// Decoding is synchronous and single-threaded: frame threading would hold pictures back by one
/// frame per thread, and the recorder runs one decoder per track on its own writer thread.
/// A frame that does not decode (a reference lost upstream) is counted, not thrown: the stream
/// recovers at the next keyframe, and a recording must not fail for it.
public final class VideoDecoder {
    public let codec: RecordingCodec
    /// Frames libavcodec refused (corrupt, or referencing a picture it never saw).
    public private(set) var errors = 0
    public private(set) var framesDecoded = 0

    private let context: UnsafeMutablePointer<AVCodecContext>
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private let h264Format: H264Depacketizer.OutputFormat
    /// Input copied with the zeroed tail libavcodec's bitstream readers may over-read.
    private var input: [UInt8] = []
    private var converter: VideoFrameScaler?
    private var converted: VideoFrameBuffer?

    /// - Parameters:
    ///   - codec: `.vp8` or `.h264`.
    ///   - h264Format: how the H.264 frames' NAL units are prefixed (`H264Depacketizer`'s
    ///     `outputFormat`). Length prefixes are rewritten to start codes before decoding, so
    ///     no avcC record is needed; parameter sets travel in-band as WebRTC sends them.
    ///   - extradata: out-of-band parameter sets (Annex-B SPS/PPS, as an encoder with a global
    ///     header produces) for streams whose frames do not repeat them.
    public init(codec: RecordingCodec, h264Format: H264Depacketizer.OutputFormat = .annexB,
                extradata: [UInt8] = []) throws(RecordingError) {
        LibAVLogLevel.warningsOnly
        let id: AVCodecID
        switch codec {
        case .vp8: id = AV_CODEC_ID_VP8
        case .h264: id = AV_CODEC_ID_H264
        case .opus: throw .codecFailed("VideoDecoder decodes video, not \(codec.rawValue)")
        }
        guard let decoder = avcodec_find_decoder(id) else { throw .codecFailed("libavcodec has no \(codec.rawValue) decoder") }
        guard let context = avcodec_alloc_context3(decoder) else { throw .codecFailed("cannot allocate a decoder") }
        self.context = context
        self.codec = codec
        self.h264Format = h264Format
        packet = av_packet_alloc()
        frame = av_frame_alloc()
        guard packet != nil, frame != nil else { throw .codecFailed("cannot allocate a packet or frame") }
        context.pointee.thread_count = 1
        // Output each picture as soon as it is decoded; WebRTC streams never reorder frames.
        context.pointee.flags |= Int32(AV_CODEC_FLAG_LOW_DELAY)
        if !extradata.isEmpty {
            guard let copy = LibAVExtradata.copy(extradata) else { throw .codecFailed("cannot allocate extradata") }
            // Freed by avcodec_free_context.
            (context.pointee.extradata, context.pointee.extradata_size) = copy
        }
        let rc = avcodec_open2(context, decoder, nil)
        guard rc >= 0 else { throw .codecFailed("cannot open the \(codec.rawValue) decoder: \(LibAVError.message(rc))") }
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = self.context
        avcodec_free_context(&context)
        av_packet_free(&packet)
        av_frame_free(&frame)
    }

    /// Decodes one frame; calls `body` with each picture it completes (usually exactly one), in
    /// YUV 4:2:0, borrowed until `body` returns, with `pts` as given for the frame.
    public func decode(_ data: UnsafeRawBufferPointer, pts: Int64, _ body: (UnsafePointer<AVFrame>) -> Void) {
        guard let packet, !data.isEmpty else { return }
        let padding = Int(AV_INPUT_BUFFER_PADDING_SIZE)
        input.removeAll(keepingCapacity: true)
        input.append(contentsOf: data)
        if codec == .h264, h264Format == .lengthPrefixed { Self.rewriteLengthsAsStartCodes(&input) }
        input.append(contentsOf: repeatElement(0, count: padding))
        let rc: Int32 = input.withUnsafeMutableBufferPointer { buffer in
            // Not reference-counted: avcodec_send_packet copies what it keeps.
            packet.pointee.data = buffer.baseAddress
            packet.pointee.size = Int32(buffer.count - padding)
            packet.pointee.pts = pts
            packet.pointee.dts = pts
            return avcodec_send_packet(context, packet)
        }
        packet.pointee.data = nil
        packet.pointee.size = 0
        if rc < 0 {
            errors += 1
            // The decoder may still hold pictures it wants us to take first.
            if rc != LibAVError.tryAgain { return }
        }
        receive(body)
    }

    /// Drains pictures the decoder still holds (end of stream), then readies it for more input.
    public func flush(_ body: (UnsafePointer<AVFrame>) -> Void) {
        guard avcodec_send_packet(context, nil) >= 0 else { return }
        receive(body)
        avcodec_flush_buffers(context)
    }

    private func receive(_ body: (UnsafePointer<AVFrame>) -> Void) {
        guard let frame else { return }
        while true {
            let rc = avcodec_receive_frame(context, frame)
            if rc == LibAVError.tryAgain || rc == LibAVError.endOfFile { return }
            guard rc >= 0 else {
                errors += 1
                return
            }
            defer { av_frame_unref(frame) }
            if frame.pointee.pts == Int64.min { frame.pointee.pts = frame.pointee.best_effort_timestamp }
            framesDecoded += 1
            let format = frame.pointee.format
            if format == AV_PIX_FMT_YUV420P.rawValue || format == AV_PIX_FMT_YUVJ420P.rawValue {
                body(frame)
            } else if let picture = convert(frame) {
                body(picture.frame)
            } else {
                errors += 1
            }
        }
    }

    /// Another pixel format (H.264 High 4:2:2 or 4:4:4 streams): converted to 4:2:0 at the same size.
    private func convert(_ frame: UnsafeMutablePointer<AVFrame>) -> VideoFrameBuffer? {
        let width = Int(frame.pointee.width), height = Int(frame.pointee.height)
        if converted?.width != width || converted?.height != height {
            converted = try? VideoFrameBuffer(width: width, height: height)
        }
        guard let converted else { return nil }
        let scaler = converter ?? VideoFrameScaler()
        converter = scaler
        guard (try? scaler.draw(frame, into: converted, rect: VideoRect(x: 0, y: 0, width: width, height: height),
                                fit: .stretch)) != nil else { return nil }
        converted.frame.pointee.pts = frame.pointee.pts
        converted.frame.pointee.key_frame = frame.pointee.key_frame
        return converted
    }

    /// 4-byte big-endian NAL lengths become 00 00 00 01 start codes, in place (same size).
    static func rewriteLengthsAsStartCodes(_ bytes: inout [UInt8]) {
        var offset = 0
        while offset + 4 <= bytes.count {
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            bytes[offset] = 0; bytes[offset + 1] = 0; bytes[offset + 2] = 0; bytes[offset + 3] = 1
            offset += 4 + length
        }
    }
}
