import FuzzSupport
import Media

/// One datagram as it arrives after SRTP: the RTP header view, its extensions and every
/// accessor the forwarding path uses, the in-place rewrites (sequence, extensions, VP8 picture
/// id) and RTX wrap/unwrap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRTP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let buffer = input(data, size)
    if let p = try? RTPPacket(buffer) {
        consume((p.marker, p.payloadType, p.sequenceNumber, p.timestamp, p.ssrc, p.payload.count))
        for i in 0..<p.csrcCount { consume(p.csrc(at: i)) }
        for e in p.headerExtensions { consume(e.data.reduce(0, &+)) }
        for id: UInt8 in [0, 1, 2, 3, 4, 5, 10, 14, 15, 200] {
            consume((p.mid(id: id), p.rid(id: id), p.repairedRid(id: id), p.absSendTime(id: id),
                     p.transportSequenceNumber(id: id), p.audioLevel(id: id), p.videoOrientation(id: id)))
        }
        consume(RTPPacketBuilder(p))
        if let d = try? VP8PayloadDescriptor(parsing: p.payload) { consume(d.keyframeDimensions(in: p.payload)) }
    }
    var copy = Array(buffer)
    copy.withUnsafeMutableBytes { bytes in
        _ = RTXPacket.unwrapInPlace(bytes, primaryPayloadType: 96, primarySSRC: 1)
    }
    copy = Array(buffer)
    copy.withUnsafeMutableBytes { bytes in
        guard let m = try? MutableRTPPacket(bytes) else { return }
        m.sequenceNumber &+= 1
        m.timestamp &+= 3000
        m.setTransportSequenceNumber(1, id: 3)
        m.setAbsSendTime(1, id: 2)
        var scratch = [UInt8](repeating: 0, count: 1600)
        scratch.withUnsafeMutableBytes {
            _ = RTXPacket.wrap(m.packet, into: $0, rtxPayloadType: 97, rtxSSRC: 1, rtxSequenceNumber: 2)
        }
        if let d = try? VP8PayloadDescriptor(parsing: UnsafeRawBufferPointer(m.payload)) {
            d.rewrite(m.payload, pictureID: 0xFFFF, tl0PicIdx: 1, keyIndex: 2)
        }
    }
    return 0
}
