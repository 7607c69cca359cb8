import Media
import Testing
@testable import SFU

/// A clock the test moves by hand (the room reads it on the test's thread only).
final class ManualClock: @unchecked Sendable {
    var now: UInt64 = 1_000_000_000
}

/// One VP8 publisher (two simulcast layers, SSRCs 0xA0 and 0xA1) and one subscriber receiving it
/// as SSRC 0xD0D0, in a room entered the way the server's transport callbacks enter it. The
/// subscriber's RTCP goes through `Room.receiveRTCP`.
final class RTCPRoomFixture {
    static let lowSSRC: UInt32 = 0xA0, highSSRC: UInt32 = 0xA1, downSSRC: UInt32 = 0xD0D0
    let clock = ManualClock()
    let room: Room
    let publisherTransport = RecordingTransport(), subscriberTransport = RecordingTransport()
    let publisher: Participant, subscriber: Participant
    let track: PublishedTrack
    let downTrack: DownTrack
    private var sequence: [UInt16] = [100, 5000]
    private var timestamp: UInt32 = 3000

    init(simulcast: Bool = false) {
        let clock = self.clock
        room = Room(name: "r", executor: ThreadBoundExecutor(), clock: { clock.now })
        nonisolated(unsafe) let publisher = Participant(identity: "pub", transport: publisherTransport)
        nonisolated(unsafe) let subscriber = Participant(identity: "sub", transport: subscriberTransport)
        let vp8 = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000)
        let layers = simulcast
            ? [LayerSelector.Layer(width: 320, height: 180), LayerSelector.Layer(width: 1280, height: 720)]
            : [LayerSelector.Layer()]
        nonisolated(unsafe) var made: (PublishedTrack, DownTrack)?
        do {
            room.join(publisher)
            room.join(subscriber)
            let track = room.publish(publisher, kind: .video, codec: vp8, ssrc: Self.lowSSRC, layers: layers)
            made = (track, room.subscribe(subscriber, to: track, ssrc: Self.downSSRC, payloadType: 98, active: true))
        }
        self.publisher = publisher
        self.subscriber = subscriber
        (track, downTrack) = made!
    }

    /// One single-packet VP8 frame of `layer` from the publisher.
    func publish(layer: Int = 0, key: Bool = false) {
        let ssrc = layer == 0 ? Self.lowSSRC : Self.highSSRC
        let descriptor: [UInt8] = [0x90, 0x80, 0x80, UInt8(sequence[layer] & 0xFF)]
        let header: [UInt8] = key ? [0x00, 0x00, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00] : [0x01, 0x00, 0x00]
        var packet = rtp(seq: sequence[layer], ts: timestamp, ssrc: ssrc, payload: descriptor + header)
        packet[1] |= 0x80
        sequence[layer] &+= 1
        packet.withUnsafeMutableBytes { room.receiveRTP($0, track: track, layer: layer) }
    }

    func nextFrame() {
        timestamp &+= 3000
        clock.now += 33_000_000
    }

    /// RTCP from the subscriber (or `from` another participant).
    func receive(_ packets: [RTCPPacket], from participant: Participant? = nil) {
        receive(RTCPPacket.serialize(packets), from: participant)
    }

    func receive(_ bytes: [UInt8], from participant: Participant? = nil) {
        bytes.withUnsafeBytes { room.receiveRTCP($0, from: participant ?? subscriber) }
    }

    /// PLIs the publisher was sent, by media SSRC.
    var plisToPublisher: [UInt32] {
        publisherTransport.rtcp.flatMap { (try? RTCPPacket.parseCompound($0)) ?? [] }.compactMap {
            if case .pictureLossIndication(let pli) = $0 { return pli.mediaSSRC }
            return nil
        }
    }

    /// Sequence numbers of the RTP the subscriber was sent.
    var sentSequenceNumbers: [UInt16] {
        subscriberTransport.rtp.map { bytes in bytes.withUnsafeBytes { try! RTPPacket($0).sequenceNumber } }
    }
}

@Suite struct RoomRTCPTests {
    @Test func senderReportOfAPublishedTrackReachesItsSubscriberTranslated() throws {
        let f = RTCPRoomFixture()
        f.publish(key: true)
        f.nextFrame()
        f.publish()
        f.subscriberTransport.rtcp.removeAll()
        let sent = try f.subscriberTransport.rtp.last!.withUnsafeBytes { try RTPPacket($0) }
        let sr = RTCPSenderReport(ssrc: RTCPRoomFixture.lowSSRC, ntpTimestamp: 0xE50B_2E10_8000_0000,
                                  rtpTimestamp: 6000, packetCount: 2, octetCount: 30)
        f.receive([.senderReport(sr), .sourceDescription(RTCPSourceDescription(ssrc: RTCPRoomFixture.lowSSRC, cname: "c"))],
                  from: f.publisher)
        #expect(f.track.senderReportsForwarded == 1 && f.downTrack.senderReportsSent == 1)
        let forwarded = try RTCPPacket.parseCompound(f.subscriberTransport.rtcp[0])
        guard case .senderReport(let ours) = forwarded.first else { Issue.record("\(forwarded)"); return }
        #expect(ours.ssrc == RTCPRoomFixture.downSSRC && ours.ntpTimestamp == sr.ntpTimestamp)
        // The last forwarded packet had incoming timestamp 6000: the SR maps onto its outgoing one.
        #expect(ours.rtpTimestamp == sent.timestamp && ours.packetCount == 2)
        // Our receiver report to the publisher now echoes the SR (LSR).
        f.publisherTransport.rtcp.removeAll()
        f.room.sendPublisherFeedback(rembBitrate: 0)
        let feedback = try RTCPPacket.parseCompound(f.publisherTransport.rtcp[0])
        guard case .receiverReport(let rr) = feedback.first else { Issue.record("\(feedback)"); return }
        #expect(rr.reportBlocks.first?.lastSenderReport == sr.compactNTP)
        // An SR about an SSRC the participant does not publish changes nothing.
        f.receive([.senderReport(RTCPSenderReport(ssrc: 0x5555, ntpTimestamp: 1, rtpTimestamp: 1, packetCount: 0, octetCount: 0))],
                  from: f.publisher)
        #expect(f.track.senderReportsForwarded == 1)
    }

    @Test func receiverReportLossReachesTheSubscribersDownlink() {
        let f = RTCPRoomFixture()
        f.receive([.receiverReport(RTCPReceiverReport(ssrc: 1, reportBlocks: [
            RTCPReportBlock(ssrc: RTCPRoomFixture.downSSRC, fractionLost: 64),
            RTCPReportBlock(ssrc: 0x7777, fractionLost: 255),  // not ours: ignored
        ]))])
        #expect(f.subscriber.receiverReports == 1)
        #expect(f.subscriber.downlinkLoss == 0.25 && f.subscriber.freshReport)
        // A report with no block about our streams leaves the figure alone.
        f.subscriber.freshReport = false
        f.receive([.receiverReport(RTCPReceiverReport(ssrc: 1, reportBlocks: [RTCPReportBlock(ssrc: 0x7777, fractionLost: 9)]))])
        #expect(f.subscriber.receiverReports == 2 && f.subscriber.downlinkLoss == 0.25 && !f.subscriber.freshReport)
        // Blocks in a sender report count too (one transport both ways).
        f.receive([.senderReport(RTCPSenderReport(ssrc: 1, ntpTimestamp: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0,
                                                  reportBlocks: [RTCPReportBlock(ssrc: RTCPRoomFixture.downSSRC, fractionLost: 128)]))])
        #expect(f.subscriber.downlinkLoss == 0.5 && f.subscriber.freshReport)
    }

    @Test func pliAndFIRBecomeThrottledPLIsToThePublisher() {
        let f = RTCPRoomFixture()
        f.publish(key: true)
        f.clock.now += 1_000_000_000  // past the subscription's own keyframe request
        f.publisherTransport.rtcp.removeAll()
        f.receive([.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: RTCPRoomFixture.downSSRC))])
        #expect(f.plisToPublisher == [RTCPRoomFixture.lowSSRC])
        f.clock.now += 100_000_000
        f.receive([.fullIntraRequest(RTCPFullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: RTCPRoomFixture.downSSRC, sequenceNumber: 1)]))])
        #expect(f.plisToPublisher.count == 1, "throttled")
        f.clock.now += 500_000_000
        f.receive([.fullIntraRequest(RTCPFullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: RTCPRoomFixture.downSSRC, sequenceNumber: 2)]))])
        #expect(f.plisToPublisher == [RTCPRoomFixture.lowSSRC, RTCPRoomFixture.lowSSRC])
        #expect(f.subscriber.keyframeRequests == 3)
        // About a source the subscriber does not receive: nothing.
        f.clock.now += 1_000_000_000
        f.receive([.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 0x4242))])
        #expect(f.plisToPublisher.count == 2 && f.subscriber.keyframeRequests == 3)
    }

    @Test func pliAsksForTheLayerTheSubscriberReceives() {
        let f = RTCPRoomFixture(simulcast: true)
        nonisolated(unsafe) let downTrack = f.downTrack
        f.room.setSettings(.quality(.high), for: downTrack)
        f.publish(layer: 0, key: true)
        f.publish(layer: 1, key: true)
        #expect(f.downTrack.forwarder.currentLayer == 1)
        f.clock.now += 1_000_000_000
        f.publisherTransport.rtcp.removeAll()
        f.receive([.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: RTCPRoomFixture.downSSRC))])
        #expect(f.plisToPublisher == [RTCPRoomFixture.highSSRC])
    }

    @Test func nackIsAnsweredFromThePacketCache() throws {
        let f = RTCPRoomFixture()
        f.publish(key: true)
        for _ in 0..<4 {
            f.nextFrame()
            f.publish()
        }
        let sent = f.sentSequenceNumbers
        let originals = f.subscriberTransport.rtp
        #expect(sent.count == 5)
        f.subscriberTransport.rtp.removeAll()
        // The 2nd packet, and the 4th through the bitmask (bit 1 = PID + 2).
        f.receive([.genericNACK(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: RTCPRoomFixture.downSSRC,
                                                items: [.init(packetID: sent[1], bitmask: 0b10)]))])
        // Resent as sent the first time (same SSRC and numbering; this SFU sends no RTX).
        #expect(f.subscriberTransport.rtp == [originals[1], originals[3]])
        #expect(f.downTrack.retransmissions == 2 && f.subscriber.nackItems == 1)
        // A NACK for what was never sent is a miss; one about a stranger SSRC is unknown feedback.
        f.receive([.genericNACK(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: RTCPRoomFixture.downSSRC,
                                                items: [.init(packetID: sent[0] &- 100, bitmask: 0)]))])
        f.receive([.genericNACK(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 0x4242, items: [.init(packetID: 1, bitmask: 0)]))])
        #expect(f.downTrack.retransmissionMisses == 1 && f.subscriber.unknownFeedback == 1)
    }

    @Test func rembIsRecordedAsTheDownlinkEstimate() {
        let f = RTCPRoomFixture()
        #expect(f.subscriber.downlinkEstimate == nil)
        f.receive([.receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 1_500_000,
                                                                                 ssrcs: [RTCPRoomFixture.downSSRC]))])
        #expect(f.subscriber.downlinkEstimate == 1_500_000 && f.subscriber.downlinkEstimateAt == f.clock.now)
        #expect(f.subscriber.receiverEstimates == 1 && f.subscriber.unknownFeedback == 0)
    }

    @Test func transportWideFeedbackIsRecorded() {
        let f = RTCPRoomFixture()
        let feedback = TransportCCFeedback(senderSSRC: 1, mediaSSRC: 0, baseSequenceNumber: 40, referenceTime: 9,
                                           feedbackPacketCount: 3, receiveDeltas: [4, nil, 4, 300, nil])
        f.receive([.transportCC(feedback)])
        #expect(f.subscriber.transportFeedbackPackets == 1 && f.subscriber.unknownFeedback == 0)
        #expect(f.subscriber.lastTransportFeedback == TransportFeedbackRecord(
            receivedAt: f.clock.now, baseSequenceNumber: 40, packetStatusCount: 5, receivedCount: 3, feedbackPacketCount: 3))
    }

    @Test func compoundPacketCarryingEverything() {
        let f = RTCPRoomFixture()
        f.publish(key: true)
        f.nextFrame()
        f.publish()
        f.clock.now += 1_000_000_000
        f.publisherTransport.rtcp.removeAll()
        let sent = f.sentSequenceNumbers
        f.subscriberTransport.rtp.removeAll()
        f.receive([
            .receiverReport(RTCPReceiverReport(ssrc: 1, reportBlocks: [RTCPReportBlock(ssrc: RTCPRoomFixture.downSSRC, fractionLost: 32)])),
            .sourceDescription(RTCPSourceDescription(ssrc: 1, cname: "x")),
            .receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 800_000, ssrcs: [RTCPRoomFixture.downSSRC])),
            .pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: RTCPRoomFixture.downSSRC)),
            .genericNACK(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: RTCPRoomFixture.downSSRC, items: [.init(packetID: sent[1], bitmask: 0)])),
            .transportCC(TransportCCFeedback(senderSSRC: 1, mediaSSRC: 0, baseSequenceNumber: 1, referenceTime: 0,
                                             feedbackPacketCount: 0, receiveDeltas: [1])),
        ])
        let s = f.subscriber
        #expect(s.downlinkLoss == 0.125 && s.downlinkEstimate == 800_000 && s.transportFeedbackPackets == 1)
        #expect(f.plisToPublisher == [RTCPRoomFixture.lowSSRC] && f.sentSequenceNumbers == [sent[1]])
        #expect(s.malformedRTCP == 0 && s.unknownFeedback == 0)
    }

    @Test func malformedPacketsAreCountedAndTheRestStillActedOn() {
        let f = RTCPRoomFixture()
        let good = RTCPPacket.serialize([
            .receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 2_000_000, ssrcs: [])),
        ])
        let cases: [[UInt8]] = [
            [0x81, 201, 0x00, 0x07, 0, 0, 0, 1, 0, 0],                // length beyond the datagram
            [0x82, 201, 0x00, 0x07] + [UInt8](repeating: 0, count: 28),  // RR: 2 blocks claimed, room for 1
            [0x81, 206, 0x00, 0x01, 0, 0, 0, 1],                        // PLI without media SSRC
            [0x81, 205, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0xD0, 0xD0],      // NACK without an item
            [0x84, 206, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xD0, 0xD0],  // FIR entry cut in half
            // REMB claiming 9 SSRCs, carrying none.
            [0x8F, 206, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 0x52, 0x45, 0x4D, 0x42, 9, 0, 0, 1],
            // TWCC claiming 2000 packets with one chunk.
            [0x8F, 205, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0x07, 0xD0, 0, 0, 0, 0, 0x20, 0x05, 0, 0],
            [0x40, 200, 0x00, 0x00],                                     // version 1
        ]
        for (index, bad) in cases.enumerated() {
            // Malformed packets amid good ones: those before always count; after a bad length
            // the walk cannot go on, but a bad body is skipped.
            f.receive(good + bad + good)
            #expect(f.subscriber.malformedRTCP == index + 1, "case \(index)")
        }
        #expect(f.subscriber.receiverEstimates == 8 + 6)  // 6 bodies were skippable, 2 framings were not
        #expect(f.subscriber.transportFeedbackPackets == 0 && f.subscriber.receiverReports == 0)
        #expect(f.subscriber.nackItems == 0 && f.subscriber.keyframeRequests == 0)
    }

    @Test func unknownFeedbackIsCounted() {
        let f = RTCPRoomFixture()
        f.receive([
            .other(RTCPRawPacket(count: 15, packetType: RTCPPacketType.payloadFeedback, body: [0, 0, 0, 1, 0, 0, 0, 0, 0x41, 0x42, 0x43, 0x44])),
            .other(RTCPRawPacket(count: 3, packetType: RTCPPacketType.transportFeedback, body: [0, 0, 0, 1, 0, 0, 0, 2])),
            .other(RTCPRawPacket(count: 0, packetType: RTCPPacketType.applicationDefined, body: [0, 0, 0, 1, 0x41, 0x42, 0x43, 0x44])),
        ])
        #expect(f.subscriber.unknownFeedback == 2 && f.subscriber.malformedRTCP == 0)
    }

    /// Random and mutated RTCP never traps the room.
    @Test func fuzzedRTCPNeverTraps() {
        let f = RTCPRoomFixture()
        f.publish(key: true)
        let seed = RTCPPacket.serialize([
            .receiverReport(RTCPReceiverReport(ssrc: 1, reportBlocks: [RTCPReportBlock(ssrc: RTCPRoomFixture.downSSRC, fractionLost: 3)])),
            .pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: RTCPRoomFixture.downSSRC)),
            .fullIntraRequest(RTCPFullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: RTCPRoomFixture.downSSRC, sequenceNumber: 1)])),
            .genericNACK(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: RTCPRoomFixture.downSSRC, items: [.init(packetID: 1, bitmask: 0xFFFF)])),
            .receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 1, ssrcs: [2])),
            .transportCC(TransportCCFeedback(senderSSRC: 1, mediaSSRC: 0, baseSequenceNumber: 1, referenceTime: 0,
                                             feedbackPacketCount: 0, receiveDeltas: [1, nil, 400])),
            .senderReport(RTCPSenderReport(ssrc: 1, ntpTimestamp: 1, rtpTimestamp: 1, packetCount: 1, octetCount: 1)),
        ])
        var state: UInt64 = 0x5EED
        func random(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        for _ in 0..<3000 {
            var bytes = seed
            for _ in 0..<(1 + random(4)) {
                switch random(3) {
                case 0: bytes[random(bytes.count)] ^= UInt8(1 << random(8))
                case 1: bytes.removeLast(random(bytes.count))
                default: bytes[random(bytes.count)] = UInt8(random(256))
                }
                if bytes.isEmpty { break }
            }
            f.receive(bytes)
            f.receive(bytes, from: f.publisher)
        }
        #expect(f.subscriber.malformedRTCP > 0)
    }
}
