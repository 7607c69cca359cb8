import Benchmark
import Media

/// Per-packet header work on a 1200-byte VP8 packet with two header extensions.
func rtpBenchmarks() {
    var stream = VP8Stream(ssrc: 0xAABB_CCDD)
    for _ in 0..<VP8Stream.packetsPerFrame { _ = stream.next() }  // past the keyframe

    // What the receive path reads: the header view, the extensions it uses, the VP8 descriptor.
    Benchmark("RTP parse (header, 2 extensions, VP8 descriptor)") { benchmark in
        let bytes = UnsafeRawBufferPointer(stream.next())
        for _ in benchmark.scaledIterations {
            let packet = try! RTPPacket(identity(bytes))
            blackHole(packet.sequenceNumber)
            blackHole(packet.timestamp)
            blackHole(packet.ssrc)
            blackHole(packet.headerExtensions.first(id: VP8Stream.transportCCID)?.dataOffset)
            blackHole(try? VP8PayloadDescriptor(parsing: packet.payload).pictureID)
        }
    }

    // A DownTrack's rewrite-send-restore without the send: SSRC, payload type, sequence number,
    // timestamp, marker and the VP8 picture id / TL0PICIDX written in place, then put back.
    Benchmark("RTP header rewrite + restore (seq, ts, SSRC, PT, marker, VP8 ids)") { benchmark in
        let bytes = stream.next()
        let packet = try! MutableRTPPacket(bytes)
        let descriptor = try! VP8PayloadDescriptor(parsing: packet.packet.payload)
        let original = (packet.sequenceNumber, packet.timestamp, packet.ssrc, packet.payloadType, packet.marker)
        var i: UInt16 = 0
        for _ in benchmark.scaledIterations {
            i &+= 1
            packet.sequenceNumber = i
            packet.timestamp = UInt32(i) &* 3000
            packet.ssrc = 0x0102_0304
            packet.payloadType = 98
            packet.marker = i & 1 == 0
            descriptor.rewrite(packet.payload, pictureID: i & 0x7FFF, tl0PicIdx: UInt8(truncatingIfNeeded: i))
            blackHole(bytes)
            packet.sequenceNumber = original.0
            packet.timestamp = original.1
            packet.ssrc = original.2
            packet.payloadType = original.3
            packet.marker = original.4
            descriptor.rewrite(packet.payload, pictureID: descriptor.pictureID, tl0PicIdx: descriptor.tl0PicIdx)
        }
    }
}
