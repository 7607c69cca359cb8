import EdgeLink
import EdgeRelay
import Foundation
import Media
import SFU
import Synchronization
import Testing
import WebRTC

/// Records what is sent through it, from any thread.
private final class RecordingTransport: MediaTransport, @unchecked Sendable {
    let rtp = Mutex<[[UInt8]]>([])
    let rtcp = Mutex<[[UInt8]]>([])
    func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool { rtp.withLock { $0.append(Array(packet)) }; return true }
    func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool { rtcp.withLock { $0.append(Array(packet)) }; return true }
}

/// A room on an origin "node" served to two edge "nodes" over sealed loopback links: each edge
/// receives each packet once and fans it out to its own three viewers; the edges' wanted layers
/// reach the publisher's dynacast as a union, and their keyframe requests reach the publisher.
@Suite struct EdgeRelayTests {
    private static let vp8 = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000)
    private static let keyframe: [UInt8] = [0x10, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00]
    private static let delta: [UInt8] = [0x10, 0x01, 0x00, 0x00]

    private func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while !condition() {
            guard ContinuousClock.now < deadline else { Issue.record("timed out: \(what)"); return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    private func waitUntilAsync(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while try await !condition() {
            guard ContinuousClock.now < deadline else { Issue.record("timed out: \(what)"); return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// One edge node: its worker, room, link and three viewers of the mirrored camera.
    private struct Edge {
        let name: String
        let worker: MediaWorker
        let room: SFU.Room
        let link: EdgeMirrorLink
        let viewers: [RecordingTransport]
    }

    private func makeEdge(_ name: String, secret: String, originWorker: MediaWorker,
                          originRoom: SFU.Room, publisherTransport: RecordingTransport,
                          originLinks: borrowing Mutex<[EdgeOriginLink]>) throws -> (EdgeMirrorLink, MediaWorker, SFU.Room) {
        let keys = EdgeLinkKeys(apiSecret: secret, originNode: "node-a", edgeNode: name, room: "sale")
        let originEnd = try EdgeLinkEndpoint(keys: keys, asOrigin: true)
        let originLink = EdgeOriginLink(endpoint: originEnd, edgeNode: name, room: originRoom, worker: originWorker)
        originLink.start()
        originLinks.withLock { $0.append(originLink) }
        let worker = MediaWorker(name: "edge-\(name)")
        let room = SFU.Room(name: "sale", executor: worker)
        let edgeEnd = try EdgeLinkEndpoint(keys: keys, asOrigin: false)
        try edgeEnd.connect(host: "127.0.0.1", port: originEnd.localPort)
        let feedback = RelayFeedbackTransport()
        let host = SFU.Participant(sid: "PA_host", identity: "host", transport: feedback)
        let link = EdgeMirrorLink(endpoint: edgeEnd, room: room, worker: worker, publisher: host, feedback: feedback)
        link.start()
        return (link, worker, room)
    }

    @Test func eachEdgeGetsEachPacketOnceAndFansOutLocally() async throws {
        let originWorker = MediaWorker(name: "origin")
        defer { originWorker.stop() }
        let originRoom = SFU.Room(name: "sale", executor: originWorker)
        let publisherTransport = RecordingTransport()
        nonisolated(unsafe) var camera: PublishedTrack!
        nonisolated(unsafe) var simulcast: PublishedTrack!
        try await originWorker.run {
            let host = SFU.Participant(sid: "PA_host", identity: "host", transport: publisherTransport)
            originRoom.join(host)
            camera = originRoom.publish(host, kind: .video, codec: Self.vp8, ssrc: 0x1111, id: "TR_cam")
            simulcast = originRoom.publish(host, kind: .video, codec: Self.vp8, ssrc: 0x2000,
                                           layers: [.init(width: 320, height: 180), .init(width: 640, height: 360),
                                                    .init(width: 1280, height: 720)], id: "TR_sim")
        }
        let originLinks = Mutex<[EdgeOriginLink]>([])
        var edges: [Edge] = []
        for name in ["node-b", "node-c"] {
            let (link, worker, room) = try makeEdge(name, secret: "cluster-secret", originWorker: originWorker,
                                                    originRoom: originRoom, publisherTransport: publisherTransport,
                                                    originLinks: originLinks)
            let relayed = try await link.mirror("TR_cam")
            #expect(relayed.mirror.id == "TR_cam" && relayed.mirror.ssrc == 0x1111)
            var viewers: [RecordingTransport] = []
            for index in 0..<3 {
                let transport = RecordingTransport()
                viewers.append(transport)
                try await worker.run {
                    let viewer = SFU.Participant(sid: "PA_v\(index)", identity: "viewer-\(index)",
                                                 transport: transport)
                    room.join(viewer)
                    nonisolated(unsafe) let mirror = relayed.mirror
                    room.subscribe(viewer, to: mirror, ssrc: 0x3000 + UInt32(index), payloadType: 100, active: true)
                }
            }
            edges.append(Edge(name: name, worker: worker, room: room, link: link, viewers: viewers))
        }
        defer { for edge in edges { edge.link.close(); edge.worker.stop() } }

        // The publisher sends 50 camera packets on the origin's worker.
        nonisolated(unsafe) let published = camera!
        for sequence in 0..<50 {
            let packet = try RTPPacketBuilder(marker: sequence % 5 == 4, payloadType: 96,
                                             sequenceNumber: UInt16(1000 + sequence),
                                             timestamp: UInt32(3000 * (sequence / 5)), ssrc: 0x1111,
                                             payload: sequence == 0 ? Self.keyframe : Self.delta).bytes()
            try await originWorker.run {
                var bytes = packet
                bytes.withUnsafeMutableBytes { originRoom.receiveRTP($0, track: published) }
            }
        }
        for edge in edges {
            for (index, viewer) in edge.viewers.enumerated() {
                try await waitUntil("50 packets at \(edge.name) viewer \(index)") { viewer.rtp.withLock { $0.count } >= 50 }
                let sent = viewer.rtp.withLock { $0 }
                let ssrcs = Set(sent.map { bytes in bytes.withUnsafeBytes { try! RTPPacket($0).ssrc } })
                #expect(sent.count == 50 && ssrcs == [0x3000 + UInt32(index)])
            }
            // The link carried each packet once for the three viewers.
            #expect(edge.link.endpoint.received.perLayer(subscription: 0) == [0: 50])
        }
        for link in originLinks.withLock({ $0 }) { #expect(link.endpoint.sent.perLayer(subscription: 0) == [0: 50]) }
        print("edge relay: 50 camera packets -> each edge link carried", edges.map { $0.link.endpoint.received.perLayer(subscription: 0) },
              "for 3 viewers each; viewers got", edges.map { $0.viewers.map { $0.rtp.withLock { $0.count } } })

        // An edge viewer's keyframe request becomes a PLI for the publisher's SSRC at the origin
        // (after the origin's 500 ms throttle that the attach opened).
        try await Task.sleep(for: .milliseconds(600))
        let before = publisherTransport.rtcp.withLock { $0.count }
        let edgeB = edges[0]
        try await edgeB.worker.run {
            guard let mirror = edgeB.room.participant(identity: "host")?.publishedTracks.first else { return }
            edgeB.room.requestKeyframe(mirror, bypassingThrottle: true)
        }
        try await waitUntil("PLI at the origin") { publisherTransport.rtcp.withLock { $0.count } > before }
        let pli = publisherTransport.rtcp.withLock { $0.last! }
        #expect(pli[1] == 206 && pli[0] & 0x1F == 1, "a PLI")
        #expect(pli[8...11].elementsEqual([0x00, 0x00, 0x11, 0x11]), "about the publisher's own SSRC")

        // Simulcast: B's viewers want only the lowest layer, C's the top one. The origin sends B
        // layer 0 only and C all three, and the publisher's dynacast sees the union (layer 2).
        let simB = try await edges[0].link.mirror("TR_sim")
        let simC = try await edges[1].link.mirror("TR_sim")
        #expect(simC.mirror.layerCount == 3)
        try await edges[0].worker.run { simB.wantLayer(0) }
        try await edges[1].worker.run { simC.wantLayer(2) }
        nonisolated(unsafe) let sim = simulcast!
        try await waitUntilAsync("wanted layers at the origin") {
            try await originWorker.run { sim.sinkLayers.sorted() } == [0, 2]
        }
        #expect(try await originWorker.run { sim.highestWantedLayer } == 2)
        for sequence in 0..<20 {
            for layer in 0..<3 {
                let packet = try RTPPacketBuilder(marker: true, payloadType: 96, sequenceNumber: UInt16(sequence),
                                                 timestamp: UInt32(3000 * sequence), ssrc: 0x2000 + UInt32(layer),
                                                 payload: sequence == 0 ? Self.keyframe : Self.delta).bytes()
                try await originWorker.run {
                    var bytes = packet
                    bytes.withUnsafeMutableBytes { originRoom.receiveRTP($0, track: sim, layer: layer) }
                }
            }
        }
        try await waitUntil("layers at C") { edges[1].link.endpoint.received.perLayer(subscription: 1) == [0: 20, 1: 20, 2: 20] }
        try await Task.sleep(for: .milliseconds(100))
        #expect(edges[0].link.endpoint.received.perLayer(subscription: 1) == [0: 20])
        #expect(edges[1].link.endpoint.received.perLayer(subscription: 1) == [0: 20, 1: 20, 2: 20])
        print("edge relay simulcast: B (wants layer 0) got", edges[0].link.endpoint.received.perLayer(subscription: 1),
              "C (wants layer 2) got", edges[1].link.endpoint.received.perLayer(subscription: 1))

        // Unmirroring on B: the origin detaches B's sinks.
        await edges[0].link.unmirror("TR_sim")
        try await waitUntilAsync("B's sink gone") { try await originWorker.run { sim.sinkLayers } == [2] }
        for link in originLinks.withLock({ $0 }) { await link.close() }
    }

    /// A link keyed with another cluster's secret gets no answer and no media.
    @Test func anotherClusterCannotSubscribe() async throws {
        let originWorker = MediaWorker(name: "origin-2"), edgeWorker = MediaWorker(name: "edge-2")
        defer { originWorker.stop(); edgeWorker.stop() }
        let originRoom = SFU.Room(name: "sale", executor: originWorker)
        try await originWorker.run {
            let host = SFU.Participant(sid: "PA_host", identity: "host", transport: RecordingTransport())
            originRoom.join(host)
            originRoom.publish(host, kind: .video, codec: Self.vp8, ssrc: 0x1111, id: "TR_cam")
        }
        let originEnd = try EdgeLinkEndpoint(
            keys: EdgeLinkKeys(apiSecret: "ours", originNode: "node-a", edgeNode: "node-x", room: "sale"), asOrigin: true)
        let origin = EdgeOriginLink(endpoint: originEnd, edgeNode: "node-x", room: originRoom, worker: originWorker)
        origin.start()
        let edgeEnd = try EdgeLinkEndpoint(
            keys: EdgeLinkKeys(apiSecret: "theirs", originNode: "node-a", edgeNode: "node-x", room: "sale"), asOrigin: false)
        try edgeEnd.connect(host: "127.0.0.1", port: originEnd.localPort)
        let feedback = RelayFeedbackTransport()
        let link = EdgeMirrorLink(endpoint: edgeEnd, room: SFU.Room(name: "sale", executor: edgeWorker), worker: edgeWorker,
                                  publisher: SFU.Participant(identity: "host", transport: feedback), feedback: feedback)
        link.start()
        await #expect(throws: EdgeMirrorLink.MirrorError.noAnswer("TR_cam")) {
            try await link.mirror("TR_cam", timeout: .milliseconds(600))
        }
        // At least the first subscribe (a loaded machine may not fit a retry in the timeout).
        #expect(originEnd.refused >= 1)
        #expect(await origin.subscriptionCount() == 0)
        link.close()
        await origin.close()
    }
}

