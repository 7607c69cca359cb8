import Egress
import FuzzDepacketizing
import FuzzSupport
import Media

/// An H.264 RTP stream (RFC 6184: single NAL units, STAP-A, FU-A) rebuilt into access units in
/// both output formats, with the SPS the muxer reads for the picture size.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzH264(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let buffer = input(data, size)
    for format in [H264Depacketizer.OutputFormat.lengthPrefixed, .annexB] {
        let depacketizer = H264Depacketizer(outputFormat: format)
        depacketize(buffer, into: depacketizer) { frame in consume(frame.data.reduce(0, &+)) }
        if let sps = depacketizer.sequenceParameterSet { consume(H264SequenceParameterSet(sps)) }
    }
    // The raw payload parser on the whole input, and the SPS parser on any bytes.
    if let payload = try? H264Payload(buffer) {
        payload.forEachNALUnit { consume($0.count) }
        consume((payload.isKeyframe, payload.fragment))
    }
    consume(H264SequenceParameterSet(Array(buffer)))
    return 0
}
