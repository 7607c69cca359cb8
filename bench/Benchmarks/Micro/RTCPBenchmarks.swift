import Benchmark
import Media
import SFU

/// RTCP through `Room.receiveRTCP` (the server's entry) on a primed room: one VP8
/// publisher, one subscriber. Acceptance (issue #16): zero mallocs per RTCP packet on the common
/// paths, as on the forwarding path. Packets are built once, outside the measured region.
func rtcpBenchmarks() {
    rtcp("RTCP PLI from a subscriber (throttled PLI to the publisher)") { room in
        RTCPPacket.serialize([.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: RTCPRoom.downSSRC))])
    }
    // Each NACK asks for one recent packet: a retransmission from the cache every time.
    rtcp("RTCP NACK from a subscriber (1 item, answered from the cache)") { room in
        RTCPPacket.serialize([.genericNACK(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: RTCPRoom.downSSRC,
                                                           items: [.init(packetID: room.lastSentSequence, bitmask: 0)]))])
    }
    rtcp("RTCP RR from a subscriber (1 block, downlink loss)") { _ in
        RTCPPacket.serialize([.receiverReport(RTCPReceiverReport(ssrc: 1, reportBlocks: [
            RTCPReportBlock(ssrc: RTCPRoom.downSSRC, fractionLost: 12)]))])
    }
    // What Chrome sends a second: RR + SDES + REMB in one, and transport-wide feedback.
    rtcp("RTCP RR + SDES + REMB + TWCC compound from a subscriber") { _ in
        RTCPPacket.serialize([
            .receiverReport(RTCPReceiverReport(ssrc: 1, reportBlocks: [RTCPReportBlock(ssrc: RTCPRoom.downSSRC, fractionLost: 3)])),
            .sourceDescription(RTCPSourceDescription(ssrc: 1, cname: "abcdefghijklmnop")),
            .receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 2_500_000, ssrcs: [RTCPRoom.downSSRC])),
            .transportCC(TransportCCFeedback(senderSSRC: 1, mediaSSRC: 0, baseSequenceNumber: 100, referenceTime: 5,
                                             feedbackPacketCount: 1, receiveDeltas: (0..<30).map { $0 % 7 == 0 ? nil : 20 })),
        ])
    }
    // A publisher's SR: translated and sent on to the subscriber (built on the stack).
    rtcp("RTCP SR from the publisher (an SR to the subscriber)", fromPublisher: true) { _ in
        RTCPPacket.serialize([.senderReport(RTCPSenderReport(ssrc: RTCPRoom.publishedSSRC, ntpTimestamp: 0xE50B_2E10_8000_0000,
                                                             rtpTimestamp: 0xFFFF_0000, packetCount: 10, octetCount: 12000))])
    }
    // The periodic feedback to the publisher: RR + REMB built on the stack and sent.
    var fixture: RTCPRoom?
    Benchmark("RTCP feedback to the publisher (RR + REMB built and sent)") { benchmark in
        let room = fixture ?? RTCPRoom()
        fixture = room
        benchmark.startMeasurement()
        let track = room.publisher.publishedTracks[0]
        var now: UInt64 = 0
        for _ in benchmark.scaledIterations {
            now &+= 1_000_000_000
            track.sendFeedback(now: now, rembBitrate: 3_000_000)
        }
        benchmark.stopMeasurement()
    }
}

/// Registers one benchmark feeding the packet `make` builds to the room, once per scaled iteration.
private func rtcp(_ name: String, fromPublisher: Bool = false, _ make: @escaping (RTCPRoom) -> [UInt8]) {
    var fixture: (RTCPRoom, [UInt8])?
    Benchmark(name) { benchmark in
        let (room, packet) = fixture ?? { let room = RTCPRoom(); return (room, make(room)) }()
        fixture = (room, packet)
        let from = fromPublisher ? room.publisher : room.subscriber
        packet.withUnsafeBytes { bytes in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                room.room.receiveRTCP(bytes, from: from)
            }
            benchmark.stopMeasurement()
        }
        precondition(from.malformedRTCP == 0 && from.unknownFeedback == 0, "\(name): the packet was not understood")
    }
}

/// A room with one VP8 publisher and one active subscriber that has been sent a frame.
final class RTCPRoom {
    static let publishedSSRC: UInt32 = 0x1111_2222, downSSRC: UInt32 = 0x5000_0000
    let executor = BenchExecutor()
    let room: Room
    let publisher: Participant
    let subscriber: Participant
    let subscriberTransport = CountingTransport()
    private(set) var stream = VP8Stream(ssrc: RTCPRoom.publishedSSRC)
    let downTrack: DownTrack

    init() {
        room = Room(name: "bench-rtcp", executor: executor)
        nonisolated(unsafe) let publisher = Participant(identity: "publisher", transport: CountingTransport())
        nonisolated(unsafe) let subscriber = Participant(identity: "subscriber", transport: subscriberTransport)
        let vp8 = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90_000)
        nonisolated(unsafe) var published: PublishedTrack?
        nonisolated(unsafe) var down: DownTrack?
        do {
            room.join(publisher)
            room.join(subscriber)
            let track = room.publish(publisher, kind: .video, codec: vp8, ssrc: RTCPRoom.publishedSSRC)
            down = room.subscribe(subscriber, to: track, ssrc: RTCPRoom.downSSRC, payloadType: 98, active: true)
            published = track
        }
        self.publisher = publisher
        self.subscriber = subscriber
        downTrack = down!
        for _ in 0..<(VP8Stream.packetsPerFrame * 2) { room.receiveRTP(stream.next(), track: published!) }
        precondition(subscriberTransport.rtpPackets == VP8Stream.packetsPerFrame * 2)
    }

    deinit { stream.deallocate() }

    /// The subscriber's sequence number of the last packet it was sent.
    var lastSentSequence: UInt16 { UInt16(truncatingIfNeeded: downTrack.forwarder.highestOutgoingSequence!) }
}
