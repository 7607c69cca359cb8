import CFFmpeg

/// Draws a decoded picture, scaled, into a rectangle of a YUV 4:2:0 picture (libswscale). The
/// compositor's primitive: "draw this participant into rect (x, y, w, h) of the canvas". Owns one
/// `SwsContext`, reused while the source and target sizes stay the same, freed in `deinit`.
///
/// The source may be any pixel format libswscale reads (YUV 4:2:0 from VP8/H.264 decoders, but
/// also 4:2:2, 4:4:4, RGB); the destination must be YUV 4:2:0.
public final class VideoFrameScaler {
    public enum Fit: Sendable {
        /// Keep the source's aspect ratio, centred in the rectangle; the rest of the rectangle is
        /// left untouched (paint it first for bars of a chosen colour).
        case aspectFit
        /// Fill the rectangle exactly, distorting the picture if the ratios differ.
        case stretch
    }

    private var context: OpaquePointer?

    public init() {}

    deinit {
        sws_freeContext(context)
    }

    /// Scales `source` into `rect` of `destination`. Returns the rectangle actually painted
    /// (even-aligned, inside the destination); empty when nothing was drawn.
    @discardableResult
    public func draw(_ source: UnsafePointer<AVFrame>, into destination: VideoFrameBuffer, rect: VideoRect,
                     fit: Fit = .aspectFit) throws(RecordingError) -> VideoRect {
        try destination.makeWritable()
        return try draw(source, intoFrame: destination.frame, rect: rect, fit: fit)
    }

    /// Same, into a frame the caller owns and guarantees writable (YUV 4:2:0).
    @discardableResult
    public func draw(_ source: UnsafePointer<AVFrame>, intoFrame destination: UnsafeMutablePointer<AVFrame>,
                     rect: VideoRect, fit: Fit = .aspectFit) throws(RecordingError) -> VideoRect {
        guard destination.pointee.format == AV_PIX_FMT_YUV420P.rawValue
                || destination.pointee.format == AV_PIX_FMT_YUVJ420P.rawValue else {
            throw .codecFailed("the scaler draws into YUV 4:2:0 only")
        }
        let sourceWidth = Int(source.pointee.width), sourceHeight = Int(source.pointee.height)
        let area = rect.clipped(width: Int(destination.pointee.width), height: Int(destination.pointee.height)).evenAligned
        guard sourceWidth > 0, sourceHeight > 0, !area.isEmpty else { return VideoRect(x: area.x, y: area.y, width: 0, height: 0) }
        let target = fit == .aspectFit ? area.aspectFit(sourceWidth: sourceWidth, sourceHeight: sourceHeight) : area
        guard !target.isEmpty else { return target }

        // Bicubic: noticeably sharper than bilinear when a participant is shrunk into a tile,
        // at a cost that is small next to decoding and encoding.
        context = sws_getCachedContext(context, Int32(sourceWidth), Int32(sourceHeight),
                                       AVPixelFormat(rawValue: source.pointee.format),
                                       Int32(target.width), Int32(target.height), AV_PIX_FMT_YUV420P,
                                       SWS_BICUBIC, nil, nil, nil)
        guard let context else {
            throw .codecFailed("libswscale cannot scale pixel format \(source.pointee.format) \(sourceWidth)x\(sourceHeight) to \(target.width)x\(target.height)")
        }
        // Destination planes start at the rectangle's corner; chroma is subsampled 2x2.
        var planes: (UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?) = (nil, nil, nil, nil)
        var strides: (Int32, Int32, Int32, Int32) = (destination.pointee.linesize.0, destination.pointee.linesize.1,
                                                      destination.pointee.linesize.2, 0)
        planes.0 = destination.pointee.data.0.map { $0 + target.y * Int(strides.0) + target.x }
        planes.1 = destination.pointee.data.1.map { $0 + target.y / 2 * Int(strides.1) + target.x / 2 }
        planes.2 = destination.pointee.data.2.map { $0 + target.y / 2 * Int(strides.2) + target.x / 2 }
        var sourcePlanes = source.pointee.data
        var sourceStrides = source.pointee.linesize
        let rc = withUnsafePointer(to: &sourcePlanes) { sourcePlanesPointer in
            withUnsafePointer(to: &sourceStrides) { sourceStridesPointer in
                withUnsafePointer(to: &planes) { planesPointer in
                    withUnsafePointer(to: &strides) { stridesPointer in
                        sws_scale(context,
                                  UnsafeRawPointer(sourcePlanesPointer).assumingMemoryBound(to: UnsafePointer<UInt8>?.self),
                                  UnsafeRawPointer(sourceStridesPointer).assumingMemoryBound(to: Int32.self),
                                  0, Int32(sourceHeight),
                                  UnsafeRawPointer(planesPointer).assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self),
                                  UnsafeRawPointer(stridesPointer).assumingMemoryBound(to: Int32.self))
                    }
                }
            }
        }
        guard rc > 0 else { throw .codecFailed("libswscale failed: \(LibAVError.message(rc))") }
        return target
    }
}
