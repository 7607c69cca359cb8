import Media
import Testing
@testable import SFU

/// A layer's measured bitrate is what forwarding it costs a viewer: the publisher's probing
/// (padding, redundant resends of old packets) must not read as a heavier layer.
@Suite struct LayerBitrateTests {
    private func packet(seq: UInt16, payload: Int) -> [UInt8] {
        try! RTPPacketBuilder(payloadType: 96, sequenceNumber: seq, timestamp: UInt32(seq) * 3000, ssrc: 0xA0,
                              payload: [UInt8](repeating: 0x10, count: payload)).bytes()
    }

    @Test func paddingAndResentPacketsDoNotCountTowardTheLayersBitrate() {
        let codec = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000)
        let track = PublishedTrack(kind: .video, codec: codec, ssrc: 0xA0, publisherTransport: RecordingTransport())
        let second: UInt64 = 1_000_000_000
        track.sampleBitrates(now: 0)
        // One second of media: 100 packets of 1000 payload bytes...
        var mediaBytes = 0
        for seq in UInt16(1)...100 {
            let media = packet(seq: seq, payload: 1000)
            mediaBytes += media.count
            _ = feed(track, media, now: UInt64(seq) * second / 100)
            // ...each followed by the publisher's probing: a resend of an older packet (RTX
            // redundancy, unwrapped) and an empty padding packet with a fresh sequence number.
            if seq > 5 { _ = feed(track, packet(seq: seq - 5, payload: 1000), now: UInt64(seq) * second / 100) }
        }
        for seq in UInt16(101)...150 { _ = feed(track, packet(seq: seq, payload: 0), now: second) }
        track.sampleBitrates(now: second)
        #expect(track.layerBitrates[0] == Double(mediaBytes * 8), "\(track.layerBitrates)")
        #expect(track.bytesReceived > mediaBytes + 95 * 1000, "what arrived is still counted as such")
    }
}
