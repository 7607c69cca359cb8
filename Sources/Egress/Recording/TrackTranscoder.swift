import CFFmpeg

/// The stage a transcoded track's frames pass through between its frame queue and the muxer:
/// decoder -> (scaler) -> encoder. Stream-copied tracks do not have one; the copy path is
/// untouched by it.
///
/// Frames arrive in order with presentation timestamps already on the recording's clock, in the
/// track's clock ticks, increasing. The encoders work in those same ticks (video: 1/90000; audio:
/// samples at 48 kHz, which is Opus's RTP clock), so packets come out on the recording's clock.
///
/// Video keeps the size of the first keyframe (rounded down to even, as x264 needs): when the
/// publisher changes resolution later (bandwidth adaptation, a simulcast switch) its pictures are
/// scaled to fit that size with black bars, because an MP4 track has one size.
///
/// Video also comes out at a constant 30 frames per second, as LiveKit's egress writes it: each
/// tick of a 1/30 s grid (starting at the first picture) shows the latest picture decoded by
/// then. A WebRTC publisher's frames arrive at an uneven rate (capture jitter, frame-rate
/// adaptation); players cope, but tools that assume a frame rate (ffmpeg's null muxer,
/// editors) round two uneven frames onto one tick and complain. Repeated pictures cost x264
/// almost nothing (skipped macroblocks). A pause longer than `maxHoldTicks` (camera off) is not
/// filled: the last picture is held for that long, then the stream jumps to the next picture.
///
/// Runs on the recording's writer thread like the rest of `FileRecorder`; not thread-safe.
final class TrackTranscoder {
    let output: TrackOutput
    let clockRate: Int64

    private var videoDecoder: VideoDecoder?
    private var videoEncoder: VideoEncoder?
    private var audioDecoder: AudioDecoder?
    private var audioEncoder: AudioEncoder?
    /// The encoder-sized picture that resized input is drawn into, and what draws it.
    private var canvas: VideoFrameBuffer?
    private var scaler: VideoFrameScaler?
    private var lastSourceSize: (width: Int32, height: Int32)?
    /// The latest decoded picture (a reference to the decoder's buffer), the next grid tick to
    /// encode, and where the held picture's own duration ends.
    private var held: UnsafeMutablePointer<AVFrame>?
    private var holding = false
    private var nextTick: Int64?
    private var heldEnd: Int64 = 0
    let frameInterval: Int64
    let maxHoldTicks: Int64

    /// - Parameters:
    ///   - width, height: the track's picture size (video), from its first keyframe.
    ///   - globalHeader: the container stores codec configuration in its header.
    init(track: RecordingTrack, output: TrackOutput, width: Int, height: Int, globalHeader: Bool) throws(RecordingError) {
        self.output = output
        clockRate = Int64(track.clockRate)
        frameInterval = max(1, clockRate / 30)
        maxHoldTicks = clockRate * 5
        switch output {
        case .copy:
            throw .codecFailed("a copied track needs no transcoder")
        case .h264:
            guard track.codec.isVideo else { throw .codecFailed("cannot encode \(track.codec.rawValue) audio as H.264") }
            let evenWidth = width & ~1, evenHeight = height & ~1
            guard evenWidth >= 2, evenHeight >= 2 else { throw .codecFailed("video size \(width)x\(height) is too small to encode") }
            videoDecoder = try VideoDecoder(codec: track.codec, h264Format: .lengthPrefixed)
            var settings = VideoEncoderSettings(width: evenWidth, height: evenHeight, framesPerSecond: 30,
                                                bitrate: Self.videoBitrate(width: evenWidth, height: evenHeight),
                                                timeBase: track.clockRate, globalHeader: globalHeader)
            settings.preset = "veryfast"
            videoEncoder = try VideoEncoder(settings)
            held = av_frame_alloc()
            guard held != nil else { throw .codecFailed("cannot allocate a frame") }
        case .audio(let codec):
            guard !track.codec.isVideo else { throw .codecFailed("cannot encode \(track.codec.rawValue) video as audio") }
            audioDecoder = try AudioDecoder(channels: track.channels)
            audioEncoder = try AudioEncoder(AudioEncoderSettings(codec: codec, sampleRate: AudioDecoder.sampleRate,
                                                                 channels: track.channels, bitrate: 128_000,
                                                                 globalHeader: globalHeader))
        }
    }

    deinit {
        av_frame_free(&held)
    }

    /// About 0.11 bit per pixel at 30 fps (3 Mbit/s for 720p, LiveKit's default preset), within
    /// 300 kbit/s and 8 Mbit/s.
    static func videoBitrate(width: Int, height: Int) -> Int {
        min(8_000_000, max(300_000, width * height * 10 / 3))
    }

    /// Declares the encoder's stream in the file; before the header.
    func addStream(to muxer: MediaMuxer) throws(RecordingError) -> Int {
        if let videoEncoder { return try muxer.addStream(from: videoEncoder) }
        if let audioEncoder { return try muxer.addStream(from: audioEncoder) }
        throw .codecFailed("no encoder")
    }

    /// The encoded size (video), for tests and logs.
    var encodedSize: (width: Int, height: Int)? { videoEncoder.map { ($0.settings.width, $0.settings.height) } }
    /// Pictures or packets that did not decode.
    var decodeErrors: Int { (videoDecoder?.errors ?? 0) + (audioDecoder?.errors ?? 0) }

    /// One frame from the queue: decoded, encoded, and each packet handed to `write`.
    func transcode(_ bytes: [UInt8], pts: Int64, duration: Int64,
                   write: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        // Errors are carried out of the closures by hand: Swift 6.3.1 crashes on typed throws
        // inside withUnsafeBytes.
        var failure: RecordingError?
        if let videoDecoder {
            bytes.withUnsafeBytes { data in
                videoDecoder.decode(data, pts: pts) { picture in
                    guard failure == nil else { return }
                    do {
                        try hold(picture, pts: picture.pointee.pts, duration: duration, write: write)
                    } catch {
                        failure = (error as? RecordingError) ?? .codecFailed(String(describing: error))
                    }
                }
            }
        } else if let audioDecoder, let audioEncoder {
            bytes.withUnsafeBytes { data in
                audioDecoder.decode(data, pts: pts) { audio, decodedPTS in
                    guard failure == nil else { return }
                    do {
                        try audioEncoder.encode(audio, pts: self.samples(ticks: decodedPTS), write)
                    } catch {
                        failure = (error as? RecordingError) ?? .codecFailed(String(describing: error))
                    }
                }
            }
        }
        if let failure { throw failure }
    }

    /// End of the recording: what the encoder still holds.
    func finish(write: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        try encodeHeld(until: heldEnd, write: write)
        try videoEncoder?.flush(write)
        try audioEncoder?.flush(write)
    }

    // MARK: Private

    /// A new picture: the previous one fills the grid ticks before it, then this one is held.
    private func hold(_ picture: UnsafePointer<AVFrame>, pts: Int64, duration: Int64,
                      write: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        guard let held else { return }
        if holding {
            try encodeHeld(until: pts, write: write)
        } else {
            nextTick = pts
        }
        av_frame_unref(held)
        let rc = av_frame_ref(held, picture)
        guard rc >= 0 else { throw .codecFailed("cannot reference a decoded picture: \(LibAVError.message(rc))") }
        holding = true
        heldEnd = pts + max(duration, 1)
    }

    /// Encodes the held picture at every grid tick before `end`.
    private func encodeHeld(until end: Int64, write: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        guard holding, let held, var tick = nextTick else { return }
        let limit = min(end, tick + maxHoldTicks)
        while tick < limit {
            try encode(held, pts: tick, duration: frameInterval, write: write)
            tick += frameInterval
        }
        // A long pause: skip to the first grid tick at or after the next picture.
        if tick < end { tick += (end - tick + frameInterval - 1) / frameInterval * frameInterval }
        nextTick = tick
    }

    private func encode(_ picture: UnsafePointer<AVFrame>, pts: Int64, duration: Int64,
                        write: (EncodedPacket) throws(RecordingError) -> Void) throws(RecordingError) {
        guard let videoEncoder else { return }
        let width = videoEncoder.settings.width, height = videoEncoder.settings.height
        let sourceWidth = Int(picture.pointee.width), sourceHeight = Int(picture.pointee.height)
        // The first size, or one pixel more (an odd size cropped to even): encode as it is.
        if sourceWidth - width == 0 || sourceWidth - width == 1, sourceHeight - height == 0 || sourceHeight - height == 1 {
            try videoEncoder.encode(picture, pts: pts, duration: duration, write)
            return
        }
        if canvas == nil { canvas = try VideoFrameBuffer(width: width, height: height) }
        if scaler == nil { scaler = VideoFrameScaler() }
        guard let canvas, let scaler else { return }
        // Bars only need painting when the picture's shape changes.
        if lastSourceSize.map({ $0.width != picture.pointee.width || $0.height != picture.pointee.height }) ?? true {
            try canvas.fill(.black)
            lastSourceSize = (picture.pointee.width, picture.pointee.height)
        }
        try scaler.draw(picture, into: canvas, rect: VideoRect(x: 0, y: 0, width: width, height: height))
        try videoEncoder.encode(canvas.frame, pts: pts, duration: duration, write)
    }

    private func samples(ticks: Int64) -> Int64 {
        clockRate == Int64(AudioDecoder.sampleRate) ? ticks : ticks * Int64(AudioDecoder.sampleRate) / clockRate
    }
}
