import Benchmark
import Media
import SFU

/// The per-DownTrack forwarding decision (`Forwarder.process`) and the mungers under it, one
/// call per packet, in steady state (after the keyframe that anchors them).
func forwarderBenchmarks() {
    // The value the PublishedTrack builds once per packet and hands to every DownTrack.
    var source = VP8Stream(ssrc: 1)
    let rtp = try! RTPPacket(UnsafeRawBufferPointer(source.next()))
    Benchmark("Forwarder.Packet from RTP (VP8 keyframe check + descriptor)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Forwarder.Packet(identity(rtp), layer: 0, codec: .vp8, arrival: 1))
        }
    }

    var single = PacketSource(layers: 1)
    var singleForwarder = Forwarder(singleLayer: .init())
    single.anchor(&singleForwarder)
    Benchmark("Forwarder.process, one layer (forward)") { benchmark in
        for _ in benchmark.scaledIterations {
            let decision = singleForwarder.process(single.next())
            blackHole(decision)
        }
        precondition(singleForwarder.currentLayer == 0)
    }

    // Three simulcast layers arriving, the top one forwarded: two of three decisions are drops.
    var simulcast = PacketSource(layers: 3)
    var simulcastForwarder = Forwarder(layers: [.init(width: 320, height: 180), .init(width: 640, height: 360),
                                                .init(width: 1280, height: 720)])
    simulcast.anchor(&simulcastForwarder)
    Benchmark("Forwarder.process, 3 simulcast layers (1 forwarded, 2 dropped)") { benchmark in
        for _ in benchmark.scaledIterations {
            let decision = simulcastForwarder.process(simulcast.next())
            blackHole(decision)
        }
        precondition(simulcastForwarder.currentLayer == 2)
    }

    // A DownTrack's whole per-packet share with the Forwarder: decide, rewrite in place, restore.
    var stream = VP8Stream(ssrc: 2)
    var forwarder = Forwarder(singleLayer: .init(initialSequenceNumber: 100, initialTimestamp: 5000))
    Benchmark("Forwarder.process + rewrite-restore in place (VP8)") { benchmark in
        for _ in benchmark.scaledIterations {
            let packet = try! MutableRTPPacket(stream.next())
            let info = Forwarder.Packet(packet.packet, layer: 0, codec: .vp8, arrival: Int64(stream.count) * 11_000_000)
            guard let rewrite = forwarder.process(info).rewrite else { continue }
            let saved = (packet.sequenceNumber, packet.timestamp, packet.marker, packet.ssrc, packet.payloadType)
            rewrite.apply(to: packet, vp8: info.vp8)
            packet.ssrc = 0x0102_0304
            packet.payloadType = 98
            blackHole(packet.bytes)
            packet.sequenceNumber = saved.0
            packet.timestamp = saved.1
            packet.marker = saved.2
            packet.ssrc = saved.3
            packet.payloadType = saved.4
            if let vp8 = info.vp8 { vp8.rewrite(packet.payload, pictureID: vp8.pictureID, tl0PicIdx: vp8.tl0PicIdx,
                                                keyIndex: vp8.keyIndex) }
        }
    }

    var munger = RTPMunger()
    _ = munger.anchor(sequenceNumber: 0, timestamp: 0, outgoingTimestamp: nil, arrival: 0)
    var sequence: UInt16 = 0
    var timestamp: UInt32 = 0
    Benchmark("RTPMunger.map (in order)") { benchmark in
        for _ in benchmark.scaledIterations {
            sequence &+= 1
            timestamp &+= 1000
            blackHole(munger.map(sequenceNumber: sequence, timestamp: timestamp, arrival: Int64(sequence)))
        }
    }

    var vp8Munger = VP8Munger()
    var descriptor = VP8PayloadDescriptor(startOfPartition: true, pictureID: 0, pictureIDIs15Bit: true,
                                          tl0PicIdx: 0, temporalLayerID: 0, keyIndex: 0)
    _ = vp8Munger.anchor(descriptor)
    Benchmark("VP8Munger.map (picture id, TL0PICIDX, KEYIDX)") { benchmark in
        for _ in benchmark.scaledIterations {
            descriptor.pictureID = (descriptor.pictureID! &+ 1) & 0x7FFF
            descriptor.tl0PicIdx = descriptor.tl0PicIdx! &+ 1
            blackHole(vp8Munger.map(descriptor))
        }
    }
}

/// `Forwarder.Packet` values of a VP8 simulcast publisher: layers interleaved packet by packet,
/// three packets a frame, 30 fps; only the very first frame of each layer is a keyframe.
struct PacketSource {
    private var packets: [Forwarder.Packet]
    private var nextLayer = 0
    private var count: Int64 = 0

    init(layers: Int) {
        packets = (0..<layers).map { layer in
            Forwarder.Packet(
                layer: layer, sequenceNumber: UInt16(layer * 10_000), timestamp: UInt32(layer) * 1_000_000,
                isKeyframe: true,
                vp8: VP8PayloadDescriptor(startOfPartition: true, pictureID: UInt16(layer * 100), pictureIDIs15Bit: true,
                                          tl0PicIdx: 0, temporalLayerID: 0, keyIndex: 0),
                arrival: 0)
        }
    }

    /// Feeds each layer's keyframe so the forwarder is anchored on its target layer.
    mutating func anchor(_ forwarder: inout Forwarder) {
        for _ in 0..<(packets.count * 3) { _ = forwarder.process(next()) }
    }

    @inline(__always)
    mutating func next() -> Forwarder.Packet {
        let layer = nextLayer
        nextLayer = nextLayer + 1 == packets.count ? 0 : nextLayer + 1
        count += 1
        let out = packets[layer]
        // Advance this layer's stream for its next packet.
        let index = Int(count - 1) / packets.count
        packets[layer].sequenceNumber &+= 1
        packets[layer].isKeyframe = false
        packets[layer].arrival = count * 4_000_000 / Int64(packets.count)
        packets[layer].marker = (index + 1) % 3 == 2
        if (index + 1) % 3 == 0 {
            packets[layer].timestamp &+= 3000
            packets[layer].vp8!.pictureID = (packets[layer].vp8!.pictureID! &+ 1) & 0x7FFF
            packets[layer].vp8!.tl0PicIdx = packets[layer].vp8!.tl0PicIdx! &+ 1
            packets[layer].vp8!.startOfPartition = true
        } else {
            packets[layer].vp8!.startOfPartition = false
        }
        return out
    }
}
