import Media
import Testing
@testable import SFU

/// A two-layer VP8 track through PublishedTrack and DownTrack: layer choice, switching at a
/// keyframe with one continuous outgoing stream, NACKs answered from the right layer, and the
/// publisher-side feedback (NACK for gaps, receiver reports, REMB).
@Suite struct SimulcastDownTrackTests {
    let vp8 = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000)

    /// VP8 with a 15-bit picture id, keyframe or not.
    func frame(seq: UInt16, ts: UInt32, ssrc: UInt32, pictureID: UInt16, key: Bool) -> [UInt8] {
        let descriptor: [UInt8] = [0x90, 0x80, 0x80 | UInt8(pictureID >> 8), UInt8(pictureID & 0xFF)]
        let header: [UInt8] = key ? [0x00, 0x00, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00] : [0x01, 0x00, 0x00]
        var p = rtp(seq: seq, ts: ts, ssrc: ssrc, payload: descriptor + header)
        p[1] |= 0x80  // one packet per frame: marker set
        return p
    }

    func sent(_ t: RecordingTransport) -> [(seq: UInt16, ts: UInt32, pictureID: UInt16, ssrc: UInt32)] {
        t.rtp.map { bytes in
            bytes.withUnsafeBytes { raw in
                let p = try! RTPPacket(raw)
                let d = try! VP8PayloadDescriptor(parsing: p.payload)
                return (p.sequenceNumber, p.timestamp, d.pictureID ?? 0, p.ssrc)
            }
        }
    }

    @Test func switchesLayersAtKeyframesWithOneContinuousStream() {
        let publisher = RecordingTransport(), subscriber = RecordingTransport()
        let track = PublishedTrack(kind: .video, codec: vp8, ssrc: nil,
                                   layers: [LayerSelector.Layer(width: 320, height: 180), LayerSelector.Layer(width: 1280, height: 720)],
                                   publisherTransport: publisher, feedbackSSRC: 9)
        let down = DownTrack(track: track, subscriberID: "PA_s", ssrc: 0xD0D0, payloadType: 96, transport: subscriber,
                             initialSequence: 100)
        track.add(down)
        var states: [Forwarder.StreamState] = []
        down.onStreamStateChange = { states.append($0) }
        _ = down.setSettings(.quality(.low), now: 0)
        var now: UInt64 = 1_000_000_000
        // Both layers arrive; low (ssrc 1) from picture id 500, high (ssrc 2) from 9000.
        for i in 0..<5 {
            let key = i == 0
            var low = frame(seq: UInt16(10 + i), ts: UInt32(3000 * i), ssrc: 1, pictureID: UInt16(500 + i), key: key)
            var high = frame(seq: UInt16(40000 + i), ts: UInt32(777_000 + 3000 * i), ssrc: 2, pictureID: UInt16(9000 + i), key: key)
            low.withUnsafeMutableBytes { track.receive($0, layer: 0, now: now) }
            high.withUnsafeMutableBytes { track.receive($0, layer: 1, now: now) }
            now += 33_000_000
        }
        #expect(sent(subscriber).map(\.seq) == [100, 101, 102, 103, 104])
        #expect(sent(subscriber).allSatisfy { $0.ssrc == 0xD0D0 })
        // Switch up: the high layer's delta frames are not forwarded until its keyframe.
        _ = down.setSettings(.quality(.high), now: now)
        var delta = frame(seq: 40005, ts: 777_000 + 15000, ssrc: 2, pictureID: 9005, key: false)
        delta.withUnsafeMutableBytes { track.receive($0, layer: 1, now: now) }
        var low = frame(seq: 15, ts: 15000, ssrc: 1, pictureID: 505, key: false)
        low.withUnsafeMutableBytes { track.receive($0, layer: 0, now: now) }
        #expect(publisher.rtcp.contains { $0.count == 12 && $0[1] == 206 && Array($0[8..<12]) == [0, 0, 0, 2] },
                "a PLI for the high layer's SSRC")
        now += 33_000_000
        var key = frame(seq: 40006, ts: 777_000 + 18000, ssrc: 2, pictureID: 9006, key: true)
        key.withUnsafeMutableBytes { track.receive($0, layer: 1, now: now) }
        #expect(down.forwarder.currentLayer == 1)
        let out = sent(subscriber)
        #expect(out.map(\.seq) == Array(100...106).map(UInt16.init), "no gap, no repeat across the switch")
        #expect(out.map(\.pictureID) == Array(500...506).map(UInt16.init), "picture ids continue")
        let steps = zip(out, out.dropFirst()).map { Int64($1.ts) - Int64($0.ts) }
        #expect(steps.allSatisfy { $0 > 0 && $0 < 9000 }, "timestamps keep moving forward: \(steps)")
        #expect(track.requestKeyframe(layer: 1, now: now) == false, "throttled right after the request")
        #expect(states.isEmpty)

        // NACK for the switch packet is answered from the high layer's cache with the same rewrite.
        subscriber.rtp.removeAll()
        down.retransmit(packetID: 106, bitmask: 0, now: now)
        #expect(sent(subscriber).map(\.seq) == [106] && sent(subscriber).map(\.pictureID) == [506])
        #expect(down.retransmissions == 1)

        // Disabled pauses, and says so.
        _ = down.setSettings(.disabled, now: now)
        #expect(states == [.paused])
    }

    @Test func upstreamGapsAreNackedAndReportedWithREMB() {
        let publisher = RecordingTransport()
        let track = PublishedTrack(kind: .video, codec: vp8, ssrc: 0xAAAA, publisherTransport: publisher, feedbackSSRC: 7)
        for seq: UInt16 in [1, 2, 5, 6] {
            var p = frame(seq: seq, ts: UInt32(seq) * 3000, ssrc: 0xAAAA, pictureID: seq, key: seq == 1)
            p.withUnsafeMutableBytes { track.receive($0, now: 1) }
        }
        let nacks = publisher.rtcp.filter { $0[1] == 205 }
        #expect(nacks.count == 1)
        let nack = try! RTCPPacket.parseCompound(nacks[0])
        #expect(nack == [.genericNACK(RTCPGenericNACK(senderSSRC: 7, mediaSSRC: 0xAAAA, lostSequenceNumbers: [3, 4]))])
        publisher.rtcp.removeAll()
        track.sendFeedback(now: 2_000_000_000, rembBitrate: 6_000_000)
        let feedback = publisher.rtcp.flatMap { try! RTCPPacket.parseCompound($0) }
        guard case .receiverReport(let rr) = feedback.first else { Issue.record("no receiver report: \(feedback)"); return }
        #expect(rr.reportBlocks.first?.ssrc == 0xAAAA && rr.reportBlocks.first?.cumulativeLost == 2)
        #expect(rr.reportBlocks.first?.extendedHighestSequenceNumber == 6)
        guard case .receiverEstimatedMaxBitrate(let remb) = feedback.last else { Issue.record("no REMB: \(feedback)"); return }
        #expect(remb.ssrcs == [0xAAAA] && remb.bitrate >= 5_990_000 && remb.bitrate <= 6_000_000)
        #expect(track.recentLoss > 0.3)  // 2 of 6
    }

    @Test func receptionStatisticsFollowRFC3550() {
        var stats = ReceptionStatistics()
        #expect(stats.receive(sequenceNumber: 65534) == .inOrder)
        #expect(stats.receive(sequenceNumber: 65535) == .inOrder)
        #expect(stats.receive(sequenceNumber: 2) == .gap(first: 0, count: 2))  // across the wrap
        #expect(stats.receive(sequenceNumber: 1) == .late)
        #expect(stats.receive(sequenceNumber: 2) == .late)
        let block = stats.reportBlock(ssrc: 5, now: 0)
        #expect(block.extendedHighestSequence == 0x1_0002)
        #expect(block.cumulativeLost == 0)  // 5 expected, 5 received (one late, one duplicate)
    }
}

@Suite struct DownlinkCapTests {
    @Test func aCappedSubscriberGetsTheLowerLayer() {
        let vp8 = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000)
        let track = PublishedTrack(kind: .video, codec: vp8, ssrc: nil,
                                   layers: [LayerSelector.Layer(width: 320, height: 180), LayerSelector.Layer(width: 1280, height: 720)],
                                   publisherTransport: RecordingTransport())
        let subscriber = RecordingTransport()
        let down = DownTrack(track: track, subscriberID: "PA_s", ssrc: 5, payloadType: 96, transport: subscriber)
        track.add(down)
        _ = down.setCap(.upTo(0), now: 0)
        let key: [UInt8] = [0x10, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00]
        var low = rtp(seq: 1, ssrc: 1, payload: key), high = rtp(seq: 1, ssrc: 2, payload: key)
        low.withUnsafeMutableBytes { track.receive($0, layer: 0, now: 1) }
        high.withUnsafeMutableBytes { track.receive($0, layer: 1, now: 1) }
        #expect(down.forwarder.currentLayer == 0 && subscriber.rtp.count == 1)
    }
}
