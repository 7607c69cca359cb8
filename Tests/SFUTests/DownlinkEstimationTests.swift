import Media
import Testing
@testable import SFU

/// A simulated bottleneck: packets queue behind each other at `capacity` bits/s (a token bucket
/// with no burst), and the viewer's TWCC feedback reports their arrivals.
private struct Bottleneck {
    var capacity: Double
    var busyUntil: Double = 0  // seconds
    /// Arrival time (µs) of a packet of `size` bytes sent at `sent` (s); nil when `lost`.
    mutating func pass(size: Int, sent: Double, extraDelay: Double = 0.005) -> Int64 {
        let start = max(sent, busyUntil)
        busyUntil = start + Double(size * 8) / capacity
        return Int64((busyUntil + extraDelay) * 1_000_000)
    }
}

/// Sends `bitrate` through `link` for `seconds` from `start`, one feedback every 100 ms; returns
/// the time reached.
@discardableResult
private func run(_ estimator: inout DownlinkBandwidthEstimator, link: inout Bottleneck, bitrate: Double,
                 from start: Double, seconds: Double, lossEvery: Int = 0, size: Int = 1000) -> Double {
    let interval = Double(size * 8) / bitrate
    var t = start
    var index = 0
    var nextFeedback = start + 0.1
    while t < start + seconds {
        let arrival = link.pass(size: size, sent: t)
        index += 1
        let lost = lossEvery > 0 && index % lossEvery == 0
        estimator.packet(sentAt: UInt64(t * 1e9), size: size, arrival: lost ? nil : arrival)
        t += interval
        if t >= nextFeedback {
            estimator.feedbackEnded(now: UInt64(t * 1e9))
            nextFeedback += 0.1
        }
    }
    return t
}

@Suite struct DownlinkBandwidthEstimatorTests {
    @Test func aLinkWithRoomToSpareSetsNoLimit() {
        var estimator = DownlinkBandwidthEstimator()
        var link = Bottleneck(capacity: 10_000_000)
        run(&estimator, link: &link, bitrate: 1_000_000, from: 1, seconds: 5)
        #expect(estimator.estimate == nil && estimator.usage == .normal && estimator.overuseEvents == 0)
        #expect(abs((estimator.acknowledgedBitrate ?? 0) - 1_000_000) < 100_000)
    }

    @Test func aQueueBuildingUpReadsAsOveruseAndTheEstimateDropsBelowTheBottleneck() {
        var estimator = DownlinkBandwidthEstimator()
        var link = Bottleneck(capacity: 500_000)
        run(&estimator, link: &link, bitrate: 1_500_000, from: 1, seconds: 3)
        #expect(estimator.overuseEvents >= 1)
        let estimate = try! #require(estimator.estimate)
        #expect(estimate > 300_000 && estimate < 520_000, "estimate \(estimate)")
    }

    @Test func heavyLossCutsTheEstimate() {
        var estimator = DownlinkBandwidthEstimator()
        var link = Bottleneck(capacity: 50_000_000)
        run(&estimator, link: &link, bitrate: 1_000_000, from: 1, seconds: 3, lossEvery: 4)
        #expect(estimator.loss > 0.2 && estimator.loss < 0.3)
        let estimate = try! #require(estimator.estimate)
        #expect(estimate < 1_000_000)
    }

    @Test func aProbeFasterThanTheEstimateRaisesIt() {
        var estimator = DownlinkBandwidthEstimator()
        var link = Bottleneck(capacity: 500_000)
        var t = run(&estimator, link: &link, bitrate: 1_500_000, from: 1, seconds: 3)
        let congested = try! #require(estimator.estimate)
        // The limit lifts; the viewer gets 150 kbit/s and a probe cluster goes out back to back.
        link = Bottleneck(capacity: 3_000_000, busyUntil: t)
        t = run(&estimator, link: &link, bitrate: 150_000, from: t, seconds: 2)
        #expect(abs(estimator.estimate! - congested) < congested * 0.2, "no growth beyond what is sent")
        estimator.probeSent(id: 1, packets: 20)
        for _ in 0..<20 {
            let arrival = link.pass(size: 275, sent: t)
            estimator.packet(sentAt: UInt64(t * 1e9), size: 275, arrival: arrival, probeID: 1)
        }
        estimator.feedbackEnded(now: UInt64((t + 0.1) * 1e9))
        let probed = try! #require(estimator.lastProbeBitrate)
        #expect(probed > 2_500_000 && probed < 3_500_000, "probe \(probed)")
        #expect(estimator.estimate! > 2_000_000)
    }

    @Test func aProbeThroughTheBottleneckMeasuresIt() {
        var estimator = DownlinkBandwidthEstimator()
        var link = Bottleneck(capacity: 600_000)
        let t = run(&estimator, link: &link, bitrate: 1_500_000, from: 1, seconds: 3)
        let before = try! #require(estimator.estimate)
        estimator.probeSent(id: 7, packets: 20)
        for _ in 0..<20 {
            estimator.packet(sentAt: UInt64(t * 1e9), size: 275, arrival: link.pass(size: 275, sent: t), probeID: 7)
        }
        estimator.feedbackEnded(now: UInt64((t + 0.1) * 1e9))
        #expect(abs(estimator.lastProbeBitrate! - 600_000) < 60_000)
        #expect(estimator.estimate! <= max(before, 600_000))
    }

    @Test func rembStandsInOnlyWithoutTransportFeedback() {
        var estimator = DownlinkBandwidthEstimator()
        estimator.receiverEstimate(800_000, now: 1_000_000_000)
        #expect(estimator.estimate == 800_000)
        var link = Bottleneck(capacity: 10_000_000)
        let t = run(&estimator, link: &link, bitrate: 500_000, from: 2, seconds: 1)
        estimator.receiverEstimate(100_000, now: UInt64(t * 1e9))
        #expect(estimator.estimate! >= 800_000, "TWCC feedback is fresh: REMB ignored")
        estimator.receiverEstimate(100_000, now: UInt64((t + 3) * 1e9))
        #expect(estimator.estimate == 100_000)
    }

    @Test func receiverReportLossAloneDrivesAViewerWithoutFeedback() {
        var estimator = DownlinkBandwidthEstimator()
        estimator.receiverReportLoss(0.05, sendBitrate: 1_000_000, now: 1_000_000_000)
        #expect(estimator.estimate == nil)
        estimator.receiverReportLoss(0.3, sendBitrate: 1_000_000, now: 2_000_000_000)
        #expect(estimator.estimate == 850_000)
    }
}

@Suite struct DownlinkAllocatorTests {
    let s: UInt64 = 1_000_000_000
    let simulcast: [Double] = [150_000, 450_000, 1_700_000]

    @Test func noEstimateMeansNoCap() {
        var allocator = DownlinkAllocator()
        let caps = allocator.allocate(estimate: nil, audioBitrate: 40_000,
                                      tracks: [.init(id: "a", desiredLayer: 2, layerBitrates: simulcast)], now: s)
        #expect(caps == [.unlimited] && !allocator.isDeficient)
    }

    @Test func theHighestLayerThatFitsAfterAudio() {
        var allocator = DownlinkAllocator()
        let track = DownlinkAllocator.Track(id: "a", desiredLayer: 2, layerBitrates: simulcast)
        #expect(allocator.allocate(estimate: 600_000, audioBitrate: 40_000, tracks: [track], now: s) == [.upTo(1)])
        #expect(allocator.isDeficient)
        var lower = DownlinkAllocator()
        #expect(lower.allocate(estimate: 450_000, audioBitrate: 40_000, tracks: [track], now: s) == [.upTo(0)])
        // What the subscriber asked for is the ceiling, and then nothing is missing.
        var asked = DownlinkAllocator()
        let medium = DownlinkAllocator.Track(id: "a", desiredLayer: 1, layerBitrates: simulcast)
        #expect(asked.allocate(estimate: 5_000_000, audioBitrate: 40_000, tracks: [medium], now: s) == [.upTo(1)])
        #expect(!asked.isDeficient)
    }

    @Test func videoPausesWhenEvenTheLowestLayerDoesNotFitAndResumesAfterTheHold() {
        var allocator = DownlinkAllocator()
        let track = DownlinkAllocator.Track(id: "a", desiredLayer: 2, layerBitrates: simulcast)
        #expect(allocator.allocate(estimate: 600_000, audioBitrate: 40_000, tracks: [track], now: s) == [.upTo(1)])
        #expect(allocator.allocate(estimate: 150_000, audioBitrate: 40_000, tracks: [track], now: 2 * s) == [.paused],
                "down at once")
        #expect(allocator.allocate(estimate: 3_000_000, audioBitrate: 40_000, tracks: [track], now: 3 * s) == [.paused],
                "up only after the hold")
        #expect(allocator.allocate(estimate: 3_000_000, audioBitrate: 40_000, tracks: [track], now: 4 * s) == [.paused])
        #expect(allocator.allocate(estimate: 3_000_000, audioBitrate: 40_000, tracks: [track], now: 5 * s) == [.unlimited])
    }

    @Test func aDipDuringTheHoldRestartsNothingButCapsTheUpgrade() {
        var allocator = DownlinkAllocator()
        let track = DownlinkAllocator.Track(id: "a", desiredLayer: 2, layerBitrates: simulcast)
        _ = allocator.allocate(estimate: 300_000, audioBitrate: 0, tracks: [track], now: s)
        _ = allocator.allocate(estimate: 3_000_000, audioBitrate: 0, tracks: [track], now: 2 * s)
        _ = allocator.allocate(estimate: 500_000, audioBitrate: 0, tracks: [track], now: 3 * s)
        #expect(allocator.allocate(estimate: 3_000_000, audioBitrate: 0, tracks: [track], now: 4 * s) == [.upTo(1)],
                "held since 2 s, but only the medium layer fitted all along")
    }

    @Test func screenShareAndTheActiveSpeakerComeFirst() {
        var allocator = DownlinkAllocator()
        let tracks = [
            DownlinkAllocator.Track(id: "camera", priority: 0, desiredLayer: 2, layerBitrates: simulcast),
            DownlinkAllocator.Track(id: "speaker", priority: 1, desiredLayer: 2, layerBitrates: simulcast),
            DownlinkAllocator.Track(id: "screen", priority: 2, desiredLayer: 2, layerBitrates: simulcast),
        ]
        // 1.2 M: every lowest layer (450 k), then the screen's medium (+300 k), then the speaker's.
        #expect(allocator.allocate(estimate: 1_200_000, audioBitrate: 0, tracks: tracks, now: s)
                == [.upTo(0), .upTo(1), .upTo(1)])
        var tight = DownlinkAllocator()
        #expect(tight.allocate(estimate: 320_000, audioBitrate: 0, tracks: tracks, now: s)
                == [.paused, .upTo(0), .upTo(0)])
    }
}

@Suite struct TransportSequenceTests {
    /// A forwarded packet with the publisher's extensions (mid, transport-cc, audio level).
    private func publisherPacket(seq: UInt16, key: Bool, ssrc: UInt32 = RTCPRoomFixture.lowSSRC) -> [UInt8] {
        let payload: [UInt8] = key ? [0x10, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00] : [0x10, 0x01, 0x00, 0x00]
        var bytes = try! RTPPacketBuilder(
            payloadType: 96, sequenceNumber: seq, timestamp: 9000, ssrc: ssrc,
            extensions: [.init(id: 4, data: Array("0".utf8)), .init(id: 3, data: [0x12, 0x34]), .init(id: 1, data: [0x55])],
            payload: payload).bytes()
        bytes[1] |= 0x80
        return bytes
    }

    @Test func everyForwardedPacketCarriesTheNextSequenceNumberAndTheBytesComeBack() throws {
        let codec = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000)
        let track = PublishedTrack(kind: .video, codec: codec, ssrc: RTCPRoomFixture.lowSSRC, publisherTransport: RecordingTransport())
        let viewer = RecordingTransport()
        let down = DownTrack(track: track, subscriberID: "PA_v", ssrc: 5, payloadType: 96, transport: viewer)
        let history = TransportSequenceHistory()
        history.extensionID = 7
        down.sendHistory = history
        track.add(down)
        for (index, seq) in (UInt16(10)...12).enumerated() {
            let original = publisherPacket(seq: seq, key: index == 0)
            let after = feed(track, original, now: 5_000_000 * UInt64(index + 1))
            #expect(after == original, "restored for the next subscriber")
        }
        #expect(viewer.rtp.count == 3 && history.packetsRecorded == 3)
        for (index, bytes) in viewer.rtp.enumerated() {
            try bytes.withUnsafeBytes { buffer in
                let packet = try RTPPacket(buffer)
                let elements = Array(packet.headerExtensions)
                #expect(elements.count == 1, "the publisher's elements are hidden")
                #expect(elements.first?.id == 7 && elements.first.map { Array($0.data) } == [0, UInt8(index + 1)])
            }
            let slot = try #require(history.lookup(UInt16(index + 1)))
            #expect(slot.size == UInt16(bytes.count) && slot.sentAt == 5_000_000 * UInt64(index + 1))
        }
    }

    @Test func theViewersFeedbackReachesItsEstimatorThroughTheRoom() {
        let f = RTCPRoomFixture()
        f.subscriber.sendHistory.extensionID = 3
        // Frames with an extension block, as libwebrtc sends them.
        var sent = 0
        for frame in 0..<40 {
            var packet = publisherPacket(seq: UInt16(200 + frame), key: frame == 0)
            packet.withUnsafeMutableBytes { f.room.receiveRTP($0, track: f.track, layer: 0) }
            f.clock.now += 20_000_000
            sent += 1
        }
        #expect(f.subscriber.sendHistory.packetsRecorded == sent)
        // The viewer got them 20 ms apart, then 60 ms apart (a queue), and lost one.
        var arrivals: [Int64?] = []
        var time: Int64 = 1_000_000
        for index in 0..<sent {
            time += index < 20 ? 20_000 : 60_000
            arrivals.append(index == 30 ? nil : time)
        }
        let feedback = TransportCCFeedback(senderSSRC: 1, mediaSSRC: 0, baseSequenceNumber: 1, feedbackPacketCount: 0,
                                           arrivalTimesMicroseconds: arrivals)!
        f.receive([.transportCC(feedback)])
        let estimator = f.subscriber.downlinkEstimator
        #expect(estimator.lastTransportFeedback == f.clock.now)
        #expect(estimator.usage == .overusing, "trend \(estimator.trend) over \(estimator.threshold)")
    }

    @Test func aProbeIsPaddingOnTheVideoStreamAfterAFramesEnd() throws {
        let f = RTCPRoomFixture()
        f.subscriber.sendHistory.extensionID = 3
        var first = publisherPacket(seq: 300, key: true)
        first[1] &= 0x7F  // not the frame's last packet
        first.withUnsafeMutableBytes { f.room.receiveRTP($0, track: f.track, layer: 0) }
        #expect(f.downTrack.requestProbe(packets: 5, id: 1, now: f.clock.now))
        #expect(f.subscriberTransport.rtp.count == 1, "waits for the frame's end")
        var last = publisherPacket(seq: 301, key: false)
        last.withUnsafeMutableBytes { f.room.receiveRTP($0, track: f.track, layer: 0) }
        var next = publisherPacket(seq: 302, key: false)
        next.withUnsafeMutableBytes { f.room.receiveRTP($0, track: f.track, layer: 0) }
        let packets = try f.subscriberTransport.rtp.map { bytes in
            try bytes.withUnsafeBytes { buffer in
                let packet = try RTPPacket(buffer)
                return (packet.sequenceNumber, packet.payloadLength, packet.ssrc)
            }
        }
        #expect(packets.count == 8)
        #expect(packets.map(\.1)[2..<7].allSatisfy { $0 == 0 }, "padding only")
        #expect(zip(packets, packets.dropFirst()).allSatisfy { $0.0 &+ 1 == $1.0 }, "one gap-free sequence")
        #expect(packets.allSatisfy { $0.2 == RTCPRoomFixture.downSSRC })
        #expect(f.subscriber.sendHistory.probePacketsSent == 5 && f.subscriber.sendHistory.packetsRecorded == 8)
    }

    @Test func withRTXAProbeIsPaddingOnTheRTXStream() throws {
        let f = RTCPRoomFixture()
        f.subscriber.sendHistory.extensionID = 3
        f.downTrack.retransmissionStream = RetransmissionStream(payloadType: 97, ssrc: 0x7777, initialSequence: 40)
        var first = publisherPacket(seq: 300, key: true)
        first.withUnsafeMutableBytes { f.room.receiveRTP($0, track: f.track, layer: 0) }
        #expect(f.downTrack.requestProbe(packets: 4, id: 1, now: f.clock.now))
        var next = publisherPacket(seq: 301, key: false)
        next.withUnsafeMutableBytes { f.room.receiveRTP($0, track: f.track, layer: 0) }
        let packets = try f.subscriberTransport.rtp.map { bytes in
            try bytes.withUnsafeBytes { buffer in
                let packet = try RTPPacket(buffer)
                return (packet.sequenceNumber, packet.payloadLength, packet.ssrc, packet.payloadType)
            }
        }
        #expect(packets.count == 6)
        // The probe follows the frame's last packet (301).
        let probes = packets[2..<6]
        #expect(probes.allSatisfy { $0.1 == 0 && $0.2 == 0x7777 && $0.3 == 97 }, "padding only, on the RTX stream")
        #expect(probes.map(\.0) == [40, 41, 42, 43])
        // The media stream's numbering is untouched by the probe.
        #expect(packets[0].2 == RTCPRoomFixture.downSSRC && packets[1].0 == packets[0].0 &+ 1)
        #expect(f.subscriber.sendHistory.probePacketsSent == 4)
    }
}
