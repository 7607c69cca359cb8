import Media
import Testing
@testable import SFU

/// Records what the SFU sends.
final class RecordingTransport: MediaTransport {
    var rtp: [[UInt8]] = []
    var rtcp: [[UInt8]] = []
    func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool { rtp.append(Array(packet)); return true }
    func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool { rtcp.append(Array(packet)); return true }
}

func rtp(seq: UInt16, ts: UInt32 = 1000, ssrc: UInt32 = 0xAAAA, pt: UInt8 = 96, payload: [UInt8]) -> [UInt8] {
    try! RTPPacketBuilder(payloadType: pt, sequenceNumber: seq, timestamp: ts, ssrc: ssrc, payload: payload).bytes()
}

/// VP8: descriptor S=1 PID=0, then the frame header's P bit (0 = keyframe).
let vp8Key: [UInt8] = [0x10, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00]
let vp8Delta: [UInt8] = [0x10, 0x01, 0x00, 0x00]

func feed(_ track: PublishedTrack, _ packet: [UInt8], now: UInt64 = 0) -> [UInt8] {
    var bytes = packet
    bytes.withUnsafeMutableBytes { track.receive($0, now: now) }
    return bytes
}

@Suite struct DownTrackTests {
    let vp8 = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000)
    let opus = TrackCodec(name: "opus", payloadType: 111, clockRate: 48000, channels: 2)

    @Test func rewriteSendRestore() {
        let publisher = RecordingTransport(), subscriber = RecordingTransport()
        let track = PublishedTrack(kind: .audio, codec: opus, ssrc: 0xAAAA, publisherTransport: publisher)
        let down = DownTrack(track: track, subscriberID: "PA_x", ssrc: 0xBBBB, payloadType: 109,
                             transport: subscriber, initialSequence: 500)
        track.add(down)
        let original = rtp(seq: 40000, ts: 777, pt: 111, payload: [1, 2, 3])
        let after = feed(track, original)
        #expect(after == original, "the publisher's bytes are restored")
        #expect(subscriber.rtp.count == 1)
        let sent = subscriber.rtp[0]
        sent.withUnsafeBytes { raw in
            let p = try! RTPPacket(raw)
            #expect(p.ssrc == 0xBBBB)
            #expect(p.payloadType == 109)
            #expect(p.sequenceNumber == 500)
            #expect(p.timestamp == 777)
            #expect(Array(p.payload) == [1, 2, 3])
        }
        // Continuous numbering afterwards, across the 16-bit wrap of the input.
        _ = feed(track, rtp(seq: 40001, pt: 111, payload: [4]))
        #expect(subscriber.rtp.count == 2)
        subscriber.rtp[1].withUnsafeBytes { #expect(try! RTPPacket($0).sequenceNumber == 501) }
        #expect(down.packetsSent == 2)
        #expect(track.cache.contains(40000) && track.cache.contains(40001))
    }

    @Test func videoStartsAtKeyframeAndRequestsIt() {
        let publisher = RecordingTransport(), subscriber = RecordingTransport()
        let track = PublishedTrack(kind: .video, codec: vp8, ssrc: 0xAAAA, publisherTransport: publisher, feedbackSSRC: 7)
        let down = DownTrack(track: track, subscriberID: "PA_x", ssrc: 0xCCCC, payloadType: 98,
                             transport: subscriber, initialSequence: 10)
        track.add(down)
        #expect(down.waitingForKeyframe)
        _ = feed(track, rtp(seq: 5, payload: vp8Delta), now: 1_000_000_000)
        #expect(subscriber.rtp.isEmpty)
        #expect(publisher.rtcp.count == 1, "a PLI asks the publisher for a keyframe")
        let pli = publisher.rtcp[0]
        #expect(pli == [0x81, 206, 0, 2, 0, 0, 0, 7, 0, 0, 0xAA, 0xAA])
        _ = feed(track, rtp(seq: 6, payload: vp8Delta), now: 1_100_000_000)
        #expect(publisher.rtcp.count == 1, "throttled: at most one PLI per 500 ms")
        _ = feed(track, rtp(seq: 7, payload: vp8Key), now: 1_200_000_000)
        _ = feed(track, rtp(seq: 8, payload: vp8Delta), now: 1_230_000_000)
        #expect(subscriber.rtp.count == 2)
        subscriber.rtp[0].withUnsafeBytes { #expect(try! RTPPacket($0).sequenceNumber == 10) }
        subscriber.rtp[1].withUnsafeBytes { #expect(try! RTPPacket($0).sequenceNumber == 11) }
        #expect(down.packetsSkippedBeforeKeyframe == 2)
        _ = feed(track, rtp(seq: 6, payload: vp8Delta), now: 1_240_000_000)
        #expect(subscriber.rtp.count == 2, "packets from before the start are not sent")
    }

    @Test func nackIsAnsweredFromTheCache() {
        let publisher = RecordingTransport(), subscriber = RecordingTransport()
        let track = PublishedTrack(kind: .audio, codec: opus, ssrc: 0xAAAA, publisherTransport: publisher)
        let down = DownTrack(track: track, subscriberID: "PA_x", ssrc: 0xBBBB, payloadType: 111,
                             transport: subscriber, initialSequence: 65534)
        track.add(down)
        for seq in UInt16(100)...104 { _ = feed(track, rtp(seq: seq, pt: 111, payload: [UInt8(seq)])) }
        subscriber.rtp.removeAll()
        // Subscriber numbering: 100->65534, 101->65535, 102->0, 103->1, 104->2.
        down.retransmit(packetID: 65535, bitmask: 0b10)  // 65535 and 1 (bit i = PID + i + 1)
        #expect(subscriber.rtp.count == 2)
        subscriber.rtp[0].withUnsafeBytes {
            let p = try! RTPPacket($0)
            #expect(p.sequenceNumber == 65535 && p.ssrc == 0xBBBB && Array(p.payload) == [101])
        }
        subscriber.rtp[1].withUnsafeBytes { #expect(Array(try! RTPPacket($0).payload) == [103]) }
        down.retransmit(packetID: 3000, bitmask: 0)
        #expect(down.retransmissions == 2 && down.retransmissionMisses == 1)
        // The cache copy was restored after the resend.
        track.cache.withPacket(sequenceNumber: 101) { #expect(try! RTPPacket(UnsafeRawBufferPointer($0)).ssrc == 0xAAAA) }
    }

    @Test func nackIsAnsweredAsRTXWhenNegotiated() {
        let publisher = RecordingTransport(), subscriber = RecordingTransport()
        let track = PublishedTrack(kind: .audio, codec: opus, ssrc: 0xAAAA, publisherTransport: publisher)
        let down = DownTrack(track: track, subscriberID: "PA_x", ssrc: 0xBBBB, payloadType: 111,
                             transport: subscriber, initialSequence: 65534)
        down.retransmissionStream = RetransmissionStream(payloadType: 112, ssrc: 0xDDDD, initialSequence: 65535)
        track.add(down)
        for seq in UInt16(100)...104 { _ = feed(track, rtp(seq: seq, ts: 5000, pt: 111, payload: [UInt8(seq), 9])) }
        subscriber.rtp.removeAll()
        // Subscriber numbering: 100->65534, 101->65535, 102->0, 103->1, 104->2.
        down.retransmit(packetID: 65535, bitmask: 0b10)
        #expect(subscriber.rtp.count == 2)
        // RFC 4588: the RTX stream's own SSRC, payload type and sequence numbers; the original
        // (outgoing) sequence number in front of the original payload.
        subscriber.rtp[0].withUnsafeBytes {
            let p = try! RTPPacket($0)
            #expect(p.ssrc == 0xDDDD && p.payloadType == 112 && p.sequenceNumber == 65535)
            #expect(Array(p.payload) == [0xFF, 0xFF, 101, 9])
        }
        subscriber.rtp[1].withUnsafeBytes {
            let p = try! RTPPacket($0)
            #expect(p.sequenceNumber == 0 && Array(p.payload) == [0x00, 0x01, 103, 9])
        }
        #expect(down.retransmissions == 2 && down.retransmissionStream?.packetsSent == 2)
        // The receiver unwraps it into the packet first sent.
        var copy = subscriber.rtp[0]
        let restored = copy.withUnsafeMutableBytes { bytes -> [UInt8]? in
            RTXPacket.unwrapInPlace(bytes, primaryPayloadType: 111, primarySSRC: 0xBBBB).map { Array(bytes[$0]) }
        }
        restored?.withUnsafeBytes {
            let p = try! RTPPacket($0)
            #expect(p.ssrc == 0xBBBB && p.sequenceNumber == 65535 && p.payloadType == 111 && Array(p.payload) == [101, 9])
        }
        #expect(restored != nil)
        track.cache.withPacket(sequenceNumber: 101) { #expect(try! RTPPacket(UnsafeRawBufferPointer($0)).ssrc == 0xAAAA) }
    }

    @Test func senderReportsAndGoodbye() {
        let subscriber = RecordingTransport()
        let track = PublishedTrack(kind: .audio, codec: opus, ssrc: 0xAAAA, publisherTransport: nil)
        let down = DownTrack(track: track, subscriberID: "PA_x", ssrc: 0x01020304, payloadType: 111, transport: subscriber)
        track.add(down)
        track.receiveSenderReport(ntp: 1, rtpTimestamp: 2)
        #expect(subscriber.rtcp.isEmpty, "not before the DownTrack started")
        _ = feed(track, rtp(seq: 1, pt: 111, payload: [9, 9]))
        track.receiveSenderReport(ntp: 0x1122334455667788, rtpTimestamp: 99)
        let parsed = try! RTCPPacket.parseCompound(subscriber.rtcp[0])
        #expect(parsed == [.senderReport(RTCPSenderReport(ssrc: 0x01020304, ntpTimestamp: 0x1122334455667788,
                                                          rtpTimestamp: 99, packetCount: 1, octetCount: 2))])
        down.sendGoodbye()
        #expect(try! RTCPPacket.parseCompound(subscriber.rtcp[1]) == [.goodbye(RTCPGoodbye(ssrcs: [0x01020304]))])
    }

    @Test func malformedAndForeignPacketsAreCounted() {
        let track = PublishedTrack(kind: .audio, codec: opus, ssrc: 0xAAAA, publisherTransport: nil)
        _ = feed(track, [0x80, 0x60, 0x00])
        _ = feed(track, rtp(seq: 1, ssrc: 0xDEAD, payload: [1]))
        #expect(track.malformedPackets == 1 && track.foreignSSRCPackets == 1 && track.packetsReceived == 0)
    }
}

@Suite struct SequenceNumberOffsetTests {
    @Test func table() {
        var m = SequenceNumberOffset()
        let early = m.outgoing(for: 5)
        #expect(early == nil, "not started")
        m.start(incoming: 65530, outgoing: 100)
        let cases: [(UInt16, UInt16?)] = [
            (65530, 100), (65531, 101), (65535, 105), (0, 106), (3, 109),
            (2, 108),           // reordered, still mapped
            (65529, nil),       // from before the start
            (10, 116),
        ]
        for (incoming, expected) in cases {
            let got = m.outgoing(for: incoming)
            #expect(got == expected, "incoming \(incoming)")
        }
        #expect(m.incoming(for: 106) == 0)
    }

    @Test func longRunsKeepFlowing() {
        var m = SequenceNumberOffset()
        m.start(incoming: 0, outgoing: 0)
        var seq: UInt16 = 0
        for _ in 0..<200_000 {
            let got = m.outgoing(for: seq)
            if got != seq { Issue.record("seq \(seq) -> \(String(describing: got))"); break }
            seq &+= 1
        }
        let late = m.outgoing(for: seq &- 2000)
        #expect(late == nil, "far too late")
    }
}

@Suite struct KeyframeRequestThrottleTests {
    @Test func onePerInterval() {
        var t = KeyframeRequestThrottle(intervalNanoseconds: 500)
        let a = t.shouldSend(now: 1000), b = t.shouldSend(now: 1499), c = t.shouldSend(now: 1500)
        #expect(a && !b && c)
        #expect(t.sent == 2 && t.suppressed == 1)
    }
}
