import Egress
import FuzzDepacketizing
import FuzzSupport
import Media

/// An Opus RTP stream: packets become frames one to one; each frame's TOC byte and frame
/// count read as the recorder and the audio level code do (RFC 6716 §3.1-3.2).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOpus(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let buffer = input(data, size)
    depacketize(buffer, into: OpusDepacketizer()) { frame in
        if let toc = OpusTOC(payload: frame.data) {
            consume((toc.mode, toc.bandwidth, toc.frameCount(in: frame.data), toc.packetDurationMicroseconds(in: frame.data),
                     toc.samplesAt48kHz(in: frame.data)))
        }
    }
    if let toc = OpusTOC(payload: buffer) {
        consume((toc.frameCount(in: buffer), toc.samplesAt48kHz(in: buffer)))
    }
    return 0
}
