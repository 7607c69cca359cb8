import CFFmpeg

/// A YUV 4:2:0 picture we own: an `AVFrame` whose planes libavutil allocated (reference counted),
/// freed in `deinit`. Used as the compositor's canvas, as the decoder's output when a stream
/// decodes to another pixel format, and as test input.
///
/// An encoder may still hold a reference to the planes after `avcodec_send_frame`; every method
/// that writes calls `makeWritable()` first, which copies the planes only in that case.
public final class VideoFrameBuffer {
    public let frame: UnsafeMutablePointer<AVFrame>

    public init(width: Int, height: Int) throws(RecordingError) {
        guard width > 0, height > 0, width <= 16384, height <= 16384 else {
            throw .codecFailed("invalid picture size \(width)x\(height)")
        }
        guard let allocated = av_frame_alloc() else { throw .codecFailed("cannot allocate a frame") }
        allocated.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        allocated.pointee.width = Int32(width)
        allocated.pointee.height = Int32(height)
        // Alignment 0: libavutil picks what its SIMD code wants for this CPU.
        let rc = av_frame_get_buffer(allocated, 0)
        guard rc >= 0 else {
            var doomed: UnsafeMutablePointer<AVFrame>? = allocated
            av_frame_free(&doomed)
            throw .codecFailed("cannot allocate a \(width)x\(height) picture: \(LibAVError.message(rc))")
        }
        frame = allocated
    }

    deinit {
        var doomed: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&doomed)
    }

    public var width: Int { Int(frame.pointee.width) }
    public var height: Int { Int(frame.pointee.height) }

    /// Copies the planes first if someone else (an encoder) still references them.
    public func makeWritable() throws(RecordingError) {
        let rc = av_frame_make_writable(frame)
        guard rc >= 0 else { throw .codecFailed("cannot make a picture writable: \(LibAVError.message(rc))") }
    }

    /// Paints `rect` (the whole picture when nil) one colour. The rectangle is shrunk to even
    /// edges, as chroma is subsampled 2x2.
    public func fill(_ color: YUVColor, in rect: VideoRect? = nil) throws(RecordingError) {
        try makeWritable()
        let area = (rect ?? VideoRect(x: 0, y: 0, width: width, height: height))
            .clipped(width: width, height: height).evenAligned
        guard !area.isEmpty else { return }
        Self.fillPlane(frame, plane: 0, area: area, value: color.y)
        let chroma = VideoRect(x: area.x / 2, y: area.y / 2, width: area.width / 2, height: area.height / 2)
        Self.fillPlane(frame, plane: 1, area: chroma, value: color.u)
        Self.fillPlane(frame, plane: 2, area: chroma, value: color.v)
    }

    /// The sample at (x, y) of `plane` (0 = Y, 1 = Cb, 2 = Cr; chroma coordinates are halved).
    public func sample(plane: Int, x: Int, y: Int) -> UInt8 {
        Self.sample(frame, plane: plane, x: x, y: y)
    }

    /// The sample at (x, y) of `plane` of any 8-bit planar frame.
    public static func sample(_ frame: UnsafePointer<AVFrame>, plane: Int, x: Int, y: Int) -> UInt8 {
        guard let base = planePointer(frame, plane) else { return 0 }
        return base[y * Int(lineSize(frame, plane)) + x]
    }

    static func planePointer(_ frame: UnsafePointer<AVFrame>, _ plane: Int) -> UnsafeMutablePointer<UInt8>? {
        switch plane {
        case 0: frame.pointee.data.0
        case 1: frame.pointee.data.1
        case 2: frame.pointee.data.2
        default: frame.pointee.data.3
        }
    }

    static func lineSize(_ frame: UnsafePointer<AVFrame>, _ plane: Int) -> Int32 {
        switch plane {
        case 0: frame.pointee.linesize.0
        case 1: frame.pointee.linesize.1
        case 2: frame.pointee.linesize.2
        default: frame.pointee.linesize.3
        }
    }

    private static func fillPlane(_ frame: UnsafePointer<AVFrame>, plane: Int, area: VideoRect, value: UInt8) {
        guard let base = planePointer(frame, plane), !area.isEmpty else { return }
        let stride = Int(lineSize(frame, plane))
        for row in area.y ..< area.y + area.height {
            (base + row * stride + area.x).update(repeating: value, count: area.width)
        }
    }
}
