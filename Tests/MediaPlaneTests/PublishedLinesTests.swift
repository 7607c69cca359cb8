@testable import MediaPlane
import SFU
import Testing

@Suite struct PublishedLinesTests {
    @Test func liveKitRidsAreLayersFromTheBottomWhateverTheirOrder() {
        #expect(PublishedLines.layerIndices(of: ["f", "h", "q"]) == [2, 1, 0])
        #expect(PublishedLines.layerIndices(of: ["q", "h"]) == [0, 1])
        // An encoder's own rid names (OBS: "0", "1", "2") keep their order.
        #expect(PublishedLines.layerIndices(of: ["lo", "mid", "hi"]) == [0, 1, 2])
        #expect(PublishedLines.layers(rids: []).count == 1)
        #expect(PublishedLines.layers(rids: ["f", "h", "q"]) { $0 == 2 ? (1280, 720) : nil }.last?.width == 1280)
    }

    @Test func packetsFindTheirTrackAndLayer() {
        let codec = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000)
        let track = PublishedTrack(id: "TR_v", kind: .video, codec: codec, ssrc: nil,
                                   layers: PublishedLines.layers(rids: ["f", "h", "q"]),
                                   publisherTransport: nil, feedbackSSRC: 1)
        var lines = PublishedLines()
        lines.grow(to: 3)
        lines.bind(track, line: 2, rids: ["f", "h", "q"])
        #expect(lines.route(media: 0, ridIndex: 0) == nil)
        #expect(lines.route(media: 2, ridIndex: 0)?.layer == 2)
        #expect(lines.route(media: 2, ridIndex: 2)?.layer == 0)
        #expect(lines.route(media: 2, ridIndex: 7)?.layer == 0, "an unknown rid position is the base layer")
        #expect(lines.route(media: 9, ridIndex: 0) == nil)
        #expect(lines.line(ofTrack: "TR_v") == 2)
        #expect(lines.unbind(line: 2) === track && lines[2] == nil)
    }
}
