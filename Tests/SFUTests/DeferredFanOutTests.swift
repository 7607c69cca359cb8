import Media
import Testing
@testable import SFU

/// Records what every subscriber was sent, in one log, so the order across subscribers shows.
final class SharedLog {
    var sent: [(subscriber: String, sequenceNumber: UInt16, payload: [UInt8])] = []
}

final class LoggingTransport: MediaTransport {
    let name: String
    let log: SharedLog
    init(_ name: String, _ log: SharedLog) { self.name = name; self.log = log }
    func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool {
        let parsed = try! RTPPacket(packet)
        log.sent.append((name, parsed.sequenceNumber, Array(parsed.payload)))
        return true
    }
    func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool { true }
}

@Suite struct DeferredFanOutTests {
    let opus = TrackCodec(name: "opus", payloadType: 111, clockRate: 48000, channels: 2)
    let vp8 = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000)

    private func audioTrack(subscribers names: [String], log: SharedLog) -> (PublishedTrack, [DownTrack]) {
        let track = PublishedTrack(kind: .audio, codec: opus, ssrc: 0xAAAA, publisherTransport: nil)
        track.defersFanOut = true
        let downs = names.enumerated().map { index, name in
            DownTrack(track: track, subscriberID: name, ssrc: 0xB000 + UInt32(index), payloadType: 111,
                      transport: LoggingTransport(name, log), initialSequence: 100)
        }
        downs.forEach(track.add)
        return (track, downs)
    }

    @Test func aBatchGoesOutSubscriberBySubscriberAtTheFlush() {
        let log = SharedLog()
        let (track, downs) = audioTrack(subscribers: ["a", "b"], log: log)
        for seq in UInt16(1)...3 {
            var bytes = rtp(seq: seq, pt: 111, payload: [UInt8(seq)])
            let original = bytes
            bytes.withUnsafeMutableBytes { track.receive($0, now: 0) }
            #expect(bytes == original, "the receive buffer is not touched")
        }
        #expect(log.sent.isEmpty, "nothing goes out before the batch ends")
        #expect(track.pendingCount == 3)
        track.flushFanOut(now: 0)
        #expect(track.pendingCount == 0)
        #expect(log.sent.map(\.subscriber) == ["a", "a", "a", "b", "b", "b"])
        #expect(log.sent.map(\.sequenceNumber) == [100, 101, 102, 100, 101, 102])
        #expect(log.sent.map(\.payload) == [[1], [2], [3], [1], [2], [3]])
        #expect(downs.allSatisfy { $0.packetsSent == 3 })
        // The cached copies were rewritten for each subscriber and restored.
        track.cache.withPacket(sequenceNumber: 2) {
            let packet = try! RTPPacket(UnsafeRawBufferPointer($0))
            #expect(packet.ssrc == 0xAAAA && packet.sequenceNumber == 2 && packet.payloadType == 111)
        }
        track.flushFanOut(now: 0)
        #expect(log.sent.count == 6, "a second flush sends nothing again")
    }

    @Test func aFullQueueFlushesByItself() {
        let log = SharedLog()
        let (track, _) = audioTrack(subscribers: ["a"], log: log)
        for seq in 0..<UInt16(PublishedTrack.pendingCapacity + 2) {
            var bytes = rtp(seq: seq, pt: 111, payload: [1])
            bytes.withUnsafeMutableBytes { track.receive($0, now: 0) }
        }
        #expect(log.sent.count == PublishedTrack.pendingCapacity)
        #expect(track.pendingCount == 2)
        track.flushFanOut(now: 0)
        #expect(log.sent.map(\.sequenceNumber) == (0..<UInt16(PublishedTrack.pendingCapacity + 2)).map { 100 + $0 })
    }

    @Test func aPacketWhoseCacheSlotWasTakenIsNotSent() {
        let log = SharedLog()
        let (track, downs) = audioTrack(subscribers: ["a"], log: log)
        let capacity = UInt16(track.cache.capacity)
        for (seq, payload) in [(UInt16(5), UInt8(1)), (5 &+ capacity, 2)] {
            var bytes = rtp(seq: seq, pt: 111, payload: [payload])
            bytes.withUnsafeMutableBytes { track.receive($0, now: 0) }
        }
        track.flushFanOut(now: 0)
        #expect(log.sent.map(\.payload) == [[2]], "the first packet's slot now holds the second")
        #expect(downs[0].packetsSent == 1)
    }

    @Test func anOversizedPacketGoesOutAtOnceAfterWhatWasQueued() {
        let log = SharedLog()
        let (track, _) = audioTrack(subscribers: ["a"], log: log)
        var small = rtp(seq: 1, pt: 111, payload: [1])
        small.withUnsafeMutableBytes { track.receive($0, now: 0) }
        var large = rtp(seq: 2, pt: 111, payload: [UInt8](repeating: 7, count: track.cache.slotSize))
        large.withUnsafeMutableBytes { track.receive($0, now: 0) }
        #expect(log.sent.map(\.sequenceNumber) == [100, 101], "queued first, then the uncached packet")
        #expect(track.pendingCount == 0)
    }

    @Test func keyframeRequestsWaitForTheFlush() {
        let publisher = RecordingTransport()
        let track = PublishedTrack(kind: .video, codec: vp8, ssrc: 0xAAAA, publisherTransport: publisher, feedbackSSRC: 7)
        track.defersFanOut = true
        let subscriber = RecordingTransport()
        track.add(DownTrack(track: track, subscriberID: "a", ssrc: 0xCCCC, payloadType: 96, transport: subscriber))
        var delta = rtp(seq: 5, payload: vp8Delta)
        delta.withUnsafeMutableBytes { track.receive($0, now: 1_000_000_000) }
        #expect(publisher.rtcp.isEmpty)
        track.flushFanOut(now: 1_000_000_000)
        #expect(publisher.rtcp.count == 1, "the subscriber waits for a keyframe: a PLI")
        var key = rtp(seq: 6, payload: vp8Key)
        key.withUnsafeMutableBytes { track.receive($0, now: 1_100_000_000) }
        track.flushFanOut(now: 1_100_000_000)
        #expect(subscriber.rtp.count == 1)
    }
}
