import EdgeLink
import Foundation
import Synchronization
import Testing

/// Two link ends over loopback UDP: the edge subscribes and asks for layers, the origin answers
/// with each layer's packets once, and the counters on both ends agree.
@Suite struct EdgeLinkEndpointTests {
    let keys = EdgeLinkKeys(apiSecret: "secret", originNode: "node-a", edgeNode: "node-b", room: "sale")

    final class Inbox: @unchecked Sendable {
        let lock = NSLock()
        var control: [EdgeLinkControl] = []
        var media: [(UInt16, UInt8, [UInt8])] = []
        func add(_ message: EdgeLinkControl) { lock.withLock { control.append(message) } }
        func add(_ subscription: UInt16, _ layer: UInt8, _ packet: UnsafeRawBufferPointer) {
            lock.withLock { media.append((subscription, layer, Array(packet))) }
        }
        var controlCount: Int { lock.withLock { control.count } }
        var mediaCount: Int { lock.withLock { media.count } }
    }

    static let shape = EdgeLinkTrackShape(isVideo: true, codecName: "VP8", payloadType: 96, clockRate: 90000,
                                          ssrc: 1000, layers: [(320, 180), (640, 360), (1280, 720)])

    static func rtp(sequence: UInt16, ssrc: UInt32, size: Int = 900) -> [UInt8] {
        var packet = [UInt8](repeating: 0xAB, count: size)
        packet[0] = 0x80; packet[1] = 96
        packet[2] = UInt8(sequence >> 8); packet[3] = UInt8(truncatingIfNeeded: sequence)
        for index in 0..<4 { packet[8 + index] = UInt8(truncatingIfNeeded: ssrc >> (24 - 8 * UInt32(index))) }
        return packet
    }

    static func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }

    @Test func eachLayerCrossesOnceAndControlComesBack() async throws {
        let origin = try EdgeLinkEndpoint(keys: keys, asOrigin: true)
        let edge = try EdgeLinkEndpoint(keys: keys, asOrigin: false)
        defer { origin.close(); edge.close() }
        let atOrigin = Inbox(), atEdge = Inbox()
        origin.start(onMedia: { atOrigin.add($0, $1, $2) }, onControl: { atOrigin.add($0) })
        edge.start(onMedia: { atEdge.add($0, $1, $2) }, onControl: { atEdge.add($0) })

        // The origin cannot send before an authentic datagram told it where the edge is.
        #expect(!origin.sendMedia(subscription: 0, layer: 0, packet: UnsafeRawBufferPointer(start: nil, count: 0)))

        try edge.connect(host: "127.0.0.1", port: origin.localPort)
        var subscriptions = EdgeLinkSubscriptions()
        let video = subscriptions.subscribe("TR_video")
        #expect(edge.sendControl(video.message!))
        #expect(edge.sendControl(subscriptions.want(video.id, highest: 2)!))
        #expect(edge.sendControl(.keyframe(subscription: video.id, layer: 2)))
        try await Self.waitUntil { atOrigin.controlCount == 3 }
        #expect(atOrigin.control == [.subscribe(subscription: 0, track: "TR_video"),
                                     .wantLayers(subscription: 0, highest: 2), .keyframe(subscription: 0, layer: 2)])

        // The origin answers, then sends 3 layers x 100 packets (paced a little: loopback UDP
        // buffers are finite and this is a count check, not a throughput one).
        #expect(origin.sendControl(.subscribed(subscription: 0, shape: Self.shape)))
        let started = ContinuousClock.now
        for sequence in 0..<100 {
            for layer in 0..<3 {
                let packet = Self.rtp(sequence: UInt16(sequence), ssrc: 1000 + UInt32(layer))
                #expect(packet.withUnsafeBytes { origin.sendMedia(subscription: 0, layer: UInt8(layer), packet: $0) })
            }
            if sequence % 20 == 19 { try await Task.sleep(for: .milliseconds(2)) }
        }
        let elapsed = ContinuousClock.now - started
        try await Self.waitUntil { atEdge.mediaCount == 300 }
        #expect(atEdge.control == [.subscribed(subscription: 0, shape: Self.shape)])
        for layer in UInt8(0)..<3 {
            #expect(origin.sent.packets(subscription: 0, layer: layer) == 100)
            #expect(edge.received.packets(subscription: 0, layer: layer) == 100)
        }
        #expect(edge.received.perLayer(subscription: 0) == [0: 100, 1: 100, 2: 100])
        // What arrives is the publisher's packet, byte for byte.
        let first = atEdge.media.first { $0.1 == 1 }!
        #expect(first.0 == 0 && first.2 == Self.rtp(sequence: 0, ssrc: 1001))
        #expect(origin.refused == 0 && edge.refused == 0)
        print("edge link: 300 sealed RTP packets of 900 bytes over loopback in \(elapsed); per layer at the edge:",
              edge.received.perLayer(subscription: 0))
    }

    @Test func strangersAreRefusedAndCannotSteerTheOrigin() async throws {
        let origin = try EdgeLinkEndpoint(keys: keys, asOrigin: true)
        let edge = try EdgeLinkEndpoint(keys: keys, asOrigin: false)
        let strangerKeys = EdgeLinkKeys(apiSecret: "not the secret", originNode: "node-a", edgeNode: "node-b", room: "sale")
        let stranger = try EdgeLinkEndpoint(keys: strangerKeys, asOrigin: false)
        defer { origin.close(); edge.close(); stranger.close() }
        let atOrigin = Inbox(), atEdge = Inbox(), atStranger = Inbox()
        origin.start(onMedia: { atOrigin.add($0, $1, $2) }, onControl: { atOrigin.add($0) })
        edge.start(onMedia: { atEdge.add($0, $1, $2) }, onControl: { atEdge.add($0) })
        stranger.start(onMedia: { atStranger.add($0, $1, $2) }, onControl: { atStranger.add($0) })

        try edge.connect(host: "127.0.0.1", port: origin.localPort)
        try stranger.connect(host: "127.0.0.1", port: origin.localPort)
        #expect(edge.sendControl(.subscribe(subscription: 0, track: "TR_video")))
        try await Self.waitUntil { atOrigin.controlCount == 1 }
        #expect(stranger.sendControl(.subscribe(subscription: 1, track: "TR_video")))
        try await Self.waitUntil { origin.refused == 1 }
        #expect(origin.refused == 1)
        #expect(atOrigin.controlCount == 1)
        // The origin still sends to the edge, not to the stranger who spoke last.
        let packet = Self.rtp(sequence: 1, ssrc: 5)
        #expect(packet.withUnsafeBytes { origin.sendMedia(subscription: 0, layer: 0, packet: $0) })
        try await Self.waitUntil { atEdge.mediaCount == 1 }
        #expect(atEdge.mediaCount == 1)
        #expect(atStranger.mediaCount == 0)
    }
}
