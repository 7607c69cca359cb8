import Media
import Testing
@testable import SFU

/// A recorder's tap on a published track: gets every layer's packets, and its layer counts as
/// wanted for dynacast even with no subscriber.
@Suite struct TrackPacketSinkTests {
    final class Tap: TrackPacketSink {
        var packets: [(layer: Int, bytes: [UInt8])] = []
        var reports = 0
        func receive(_ packet: UnsafeRawBufferPointer, layer: Int, now: UInt64) { packets.append((layer, Array(packet))) }
        func receiveSenderReport(ntp: UInt64, rtpTimestamp: UInt32, layer: Int) { reports += 1 }
    }

    @Test func sinkLayerKeepsTheLayerWantedAndDetachForgetsIt() {
        let layers = [LayerSelector.Layer(width: 320, height: 180), LayerSelector.Layer(width: 640, height: 360),
                      LayerSelector.Layer(width: 1280, height: 720)]
        let track = PublishedTrack(kind: .video, codec: TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000),
                                   ssrc: nil, layers: layers, publisherTransport: RecordingTransport())
        #expect(track.highestWantedLayer == nil)
        let tap = Tap()
        track.addSink(tap, layer: 2)
        track.addSink(tap, layer: 2)  // attaching twice is one tap
        #expect(track.sinks.count == 1 && track.highestWantedLayer == 2)

        var packet = rtp(seq: 1, ssrc: 0x1111, payload: vp8Key)
        packet.withUnsafeMutableBytes { track.receive($0, layer: 1, now: 0) }
        track.receiveSenderReport(ntp: 1, rtpTimestamp: 2, layer: 1)
        #expect(tap.packets.map(\.layer) == [1] && tap.reports == 1)

        track.removeSink(tap)
        #expect(track.sinks.isEmpty && track.sinkLayers.isEmpty && track.highestWantedLayer == nil)
    }

    @Test func aRecorderStartingBypassesTheKeyframeThrottleOnce() {
        let publisher = RecordingTransport()
        let track = PublishedTrack(kind: .video, codec: TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000),
                                   ssrc: 0xAAAA, publisherTransport: publisher)
        #expect(track.requestKeyframe(now: 1_000))  // a subscriber's request
        #expect(!track.requestKeyframe(now: 2_000))  // throttled
        #expect(track.requestKeyframe(now: 3_000, bypassingThrottle: true))  // the recorder's
        #expect(!track.requestKeyframe(now: 400_000_000))  // throttled from the forced one
        #expect(publisher.rtcp.count == 2)
    }
}
