import Egress
import FuzzDepacketizing
import FuzzSupport

/// A VP8 RTP stream (RFC 7741 payload descriptors) rebuilt into frames, each frame's keyframe
/// header read for its size as the muxer does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVP8(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    depacketize(input(data, size), into: VP8Depacketizer()) { frame in
        consume(VP8Depacketizer.keyframeDimensions(frame.data))
        consume(frame.data.reduce(0, &+))
    }
    return 0
}
