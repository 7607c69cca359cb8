import EdgeLink
import Testing

/// The control channel's messages and the state both ends keep from them.
@Suite struct EdgeLinkControlTests {
    @Test func everyMessageRoundTrips() throws {
        let messages: [EdgeLinkControl] = [
            .subscribe(subscription: 3, track: "TR_VCabc"),
            .unsubscribe(subscription: 3),
            .wantLayers(subscription: 65535, highest: 2),
            .wantLayers(subscription: 1, highest: nil),
            .keyframe(subscription: 4, layer: 1),
            .subscribed(subscription: 4, shape: EdgeLinkTrackShape(
                isVideo: true, codecName: "VP8", payloadType: 96, clockRate: 90000, ssrc: 0xDEADBEEF,
                layers: [(320, 180), (640, 360), (1280, 720)])),
            .subscribed(subscription: 5, shape: EdgeLinkTrackShape(
                isVideo: false, codecName: "opus", payloadType: 111, clockRate: 48000, channels: 2,
                fmtp: "minptime=10;useinbandfec=1", ssrc: 7, audioLevelExtensionID: 1, layers: [(0, 0)])),
            .senderReport(subscription: 4, layer: 2, ntp: 0x0123_4567_89AB_CDEF, rtpTimestamp: 0xFEDC_BA98),
            .trackGone(subscription: 9),
        ]
        for message in messages { #expect(try EdgeLinkControl(decoding: message.encoded()) == message) }
    }

    @Test func truncatedOrUnknownIsAnError() {
        #expect(throws: EdgeLinkControl.DecodeError.truncated) { try EdgeLinkControl(decoding: []) }
        #expect(throws: EdgeLinkControl.DecodeError.unknownOpcode(77)) { try EdgeLinkControl(decoding: [77, 0, 1]) }
        #expect(throws: EdgeLinkControl.DecodeError.truncated) { try EdgeLinkControl(decoding: [1, 0, 1, 0, 10, 65]) }
        #expect(throws: EdgeLinkControl.DecodeError.badTrackName) { try EdgeLinkControl(decoding: [1, 0, 1, 0, 1, 0xFF]) }
    }

    @Test func edgeStateRestatesItself() {
        var subscriptions = EdgeLinkSubscriptions()
        let video = subscriptions.subscribe("TR_video")
        #expect(video.message == .subscribe(subscription: video.id, track: "TR_video"))
        #expect(subscriptions.subscribe("TR_video").message == nil)
        let audio = subscriptions.subscribe("TR_audio")
        #expect(subscriptions.want(video.id, highest: 2) == .wantLayers(subscription: video.id, highest: 2))
        #expect(subscriptions.want(video.id, highest: 2) == nil)
        #expect(subscriptions.refreshMessages() == [
            .subscribe(subscription: video.id, track: "TR_video"), .wantLayers(subscription: video.id, highest: 2),
            .subscribe(subscription: audio.id, track: "TR_audio"), .wantLayers(subscription: audio.id, highest: nil),
        ])
        #expect(subscriptions.unsubscribe(audio.id) == .unsubscribe(subscription: audio.id))
        #expect(subscriptions.unsubscribe(audio.id) == nil)
    }

    @Test func originSeesTheUnionOfEdges() {
        var demand = EdgeLinkDemand()
        #expect(demand.apply(.subscribe(subscription: 0, track: "TR_v"), from: "node-b") == "TR_v")
        #expect(demand.apply(.subscribe(subscription: 5, track: "TR_v"), from: "node-c") == "TR_v")
        #expect(demand.highestWanted(of: "TR_v") == nil)
        #expect(demand.apply(.wantLayers(subscription: 0, highest: 0), from: "node-b") == "TR_v")
        #expect(demand.apply(.wantLayers(subscription: 5, highest: 2), from: "node-c") == "TR_v")
        #expect(demand.highestWanted(of: "TR_v") == 2)
        // A repeated (refreshed) fact changes nothing.
        #expect(demand.apply(.wantLayers(subscription: 5, highest: 2), from: "node-c") == nil)
        #expect(demand.apply(.unsubscribe(subscription: 5), from: "node-c") == "TR_v")
        #expect(demand.highestWanted(of: "TR_v") == 0)
        demand.drop(edge: "node-b")
        #expect(demand.highestWanted(of: "TR_v") == nil)
        #expect(demand.byEdge.isEmpty)
    }
}
