import Foundation
import LiveKitProto
import Logging
import MediaPlane
import SFU
import Synchronization
import Testing
import WebRTC

private final class QuietTransport: MediaTransport {
    func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool { true }
    func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool { true }
}

/// A LiveKit client as a hub sees it, recording what the hub asks of it. Touched on its hub's
/// worker, read by the test once that worker is idle.
private final class Member: RoomMember, @unchecked Sendable {
    let sid: String
    let door = MemberDoor.livekit
    let identity: String
    let permission = Livekit_ParticipantPermission.with { $0.canSubscribe = true; $0.canPublish = true }
    let participant: SFU.Participant
    let logger = Logger(label: "test")
    let autoSubscribe = true
    let canSubscribe = true
    var subscribed: [(track: String, publisher: String)] = []
    var unsubscribed: [String] = []
    let delivered = Mutex<[[UInt8]]>([])

    init(_ identity: String) {
        sid = "PA_" + identity
        self.identity = identity
        participant = SFU.Participant(sid: sid, identity: identity, transport: QuietTransport())
    }

    var subscribedTrackSids: [String] { subscribed.map(\.track).filter { !unsubscribed.contains($0) } }
    func subscribe(to track: PublishedTrack, publisher: any RoomMember) { subscribed.append((track.id, publisher.sid)) }
    func unsubscribe(trackSid: String, track: PublishedTrack?) { unsubscribed.append(trackSid) }
    func negotiateSubscriber() {}
    func announceWantedLayers(of track: PublishedTrack) {}
    func announceDueLayers(now: UInt64) {}
    func deliver(_ bytes: [UInt8], reliable: Bool) { delivered.withLock { $0.append(bytes) } }
    func roomEvent(_ event: MediaRoomEvent) {}
    func logSubscriptionStats() {}
    func close() {}
}

/// One room over two workers: what a member of one hub publishes or sends reaches the other's.
@Suite struct RoomSpanTests {
    private static let vp8 = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000)

    private struct Spread {
        let span: RoomSpan
        let a: RoomMediaHub
        let b: RoomMediaHub
        let workers: [MediaWorker]
    }

    private func spread(addingB: Bool = true) -> Spread {
        let workerA = MediaWorker(name: "span-a"), workerB = MediaWorker(name: "span-b")
        let a = RoomMediaHub(room: SFU.Room(name: "sale", executor: workerA), worker: workerA)
        let b = RoomMediaHub(room: SFU.Room(name: "sale", executor: workerB), worker: workerB)
        let span = RoomSpan(roomName: "sale", logger: Logger(label: "test"))
        span.add(a)
        if addingB { span.add(b) }
        return Spread(span: span, a: a, b: b, workers: [workerA, workerB])
    }

    private func publishCamera(of host: Member, on hub: RoomMediaHub) async throws {
        try await hub.worker.run {
            let track = hub.room.publish(host.participant, kind: .video, codec: Self.vp8, ssrc: 0x1111, id: "TR_cam")
            hub.published(track, by: host)
        }
    }

    /// A host on A publishing its camera, a viewer on B, and the span done relaying it.
    private func hostOnAWatchedFromB(_ s: Spread) async throws -> (host: Member, viewer: Member) {
        let host = Member("host"), viewer = Member("viewer")
        try await s.a.worker.run { s.a.add(host) }
        try await s.b.worker.run { s.b.add(viewer) }
        try await publishCamera(of: host, on: s.a)
        await s.span.settle()
        return (host, viewer)
    }

    @Test func aTrackPublishedOnOneWorkerReachesTheMembersOfAnother() async throws {
        let s = spread()
        defer { s.span.close(); s.workers.forEach { $0.stop() } }
        let (host, viewer) = try await hostOnAWatchedFromB(s)
        let seen = try await s.b.worker.run {
            (viewer.subscribed.map(\.track), viewer.subscribed.map(\.publisher), s.b.member(identity: "host") == nil,
             s.b.memberCount, s.b.members.count)
        }
        #expect(seen.0 == ["TR_cam"] && seen.1 == ["PA_host"], "subscribed to the mirror, named by the publisher's sid")
        #expect(seen.2 && seen.3 == 1 && seen.4 == 2, "the publisher stands in on B, not as a member of its own")
        #expect(s.span.relayCounts == (1, 0))
        // Nothing is relayed back to where it came from.
        #expect(try await s.a.worker.run { s.a.members.count } == 1)
    }

    @Test func aWorkerAddedLaterGetsWhatIsAlreadyPublished() async throws {
        let s = spread(addingB: false)
        defer { s.span.close(); s.workers.forEach { $0.stop() } }
        let host = Member("host"), viewer = Member("viewer")
        try await s.a.worker.run { s.a.add(host) }
        try await publishCamera(of: host, on: s.a)
        await s.span.settle()
        s.span.add(s.b)
        try await s.b.worker.run { s.b.add(viewer) }
        await s.span.settle()
        #expect(try await s.b.worker.run { viewer.subscribed.map(\.track) } == ["TR_cam"])
    }

    @Test func theMirrorsAndTheStandInEndWhenThePublisherLeaves() async throws {
        let s = spread()
        defer { s.span.close(); s.workers.forEach { $0.stop() } }
        let (host, viewer) = try await hostOnAWatchedFromB(s)
        try await s.a.worker.run { s.a.remove(host) }
        await s.span.settle()
        let seen = try await s.b.worker.run { (viewer.unsubscribed, s.b.members.count, s.b.room.participants.count) }
        #expect(seen.0 == ["TR_cam"])
        #expect(seen.1 == 1 && seen.2 == 1, "the stand-in left B's hub and room")
        #expect(s.span.relayCounts == (1, 1))
    }

    @Test func aWorkerLeftByItsMembersStopsReceivingTheRoomsTracks() async throws {
        let s = spread()
        defer { s.span.close(); s.workers.forEach { $0.stop() } }
        let (host, viewer) = try await hostOnAWatchedFromB(s)
        #expect(try await s.a.worker.run { s.a.room.participants[0].publishedTracks[0].sinks.count } == 1)
        try await s.b.worker.run { s.b.remove(viewer) }
        s.span.remove(s.b)
        await s.span.settle()
        #expect(try await s.a.worker.run { s.a.room.participants[0].publishedTracks[0].sinks.count } == 0,
                "the relay sink left the track")
        #expect(try await s.b.worker.run { s.b.members.count } == 0, "the stand-in left B")
        #expect(s.span.relayCounts == (1, 1))
    }

    /// Dynacast across workers: what the far hub's viewers of a mirror want is what the relay
    /// asks of the publisher's track (none without viewers, LOW for a LOW viewer).
    @Test func theFarViewersWantedLayersReachThePublishersTrack() async throws {
        let s = spread()
        defer { s.span.close(); s.workers.forEach { $0.stop() } }
        let host = Member("host"), viewer = Member("viewer")
        try await s.a.worker.run { s.a.add(host) }
        nonisolated(unsafe) var track: PublishedTrack!
        try await s.a.worker.run {
            let layers = [LayerSelector.Layer(width: 320, height: 180), LayerSelector.Layer(width: 640, height: 360),
                          LayerSelector.Layer(width: 1280, height: 720)]
            track = s.a.room.publish(host.participant, kind: .video, codec: Self.vp8, ssrc: 0x1111, layers: layers, id: "TR_cam")
            s.a.published(track, by: host)
        }
        await s.span.settle()
        nonisolated(unsafe) let published = track!
        // Both workers' queues run what was scheduled before these jobs (the wake-ups between them).
        func quiet() async throws { for _ in 0..<3 { try await s.b.worker.run {}; try await s.a.worker.run {} } }
        try await quiet()
        #expect(try await s.a.worker.run { published.highestWantedLayer } == nil, "nobody on B watches it yet")
        try await s.b.worker.run {
            s.b.add(viewer)
            let mirror = s.b.room.participants.first(where: { $0.isRelayCopy })!.publishedTracks[0]
            let downTrack = s.b.room.subscribe(viewer.participant, to: mirror, ssrc: 0x2222, payloadType: 96, active: true)
            s.b.room.setSettings(.quality(.low), for: downTrack)
            s.b.announceWantedLayers(of: mirror)
        }
        try await quiet()
        #expect(try await s.a.worker.run { published.highestWantedLayer } == 0)
        try await s.b.worker.run {
            let mirror = s.b.room.participants.first(where: { $0.isRelayCopy })!.publishedTracks[0]
            s.b.room.setSettings(.quality(.high), for: mirror.downTracks[0])
            s.b.announceWantedLayers(of: mirror)
        }
        try await quiet()
        #expect(try await s.a.worker.run { published.highestWantedLayer } == 2)
    }

    @Test func dataCrossesWorkersToEveryoneButTheSenderOrToItsDestinations() async throws {
        let s = spread()
        defer { s.span.close(); s.workers.forEach { $0.stop() } }
        let host = Member("host"), viewer = Member("viewer"), other = Member("other")
        try await s.a.worker.run { s.a.add(host) }
        try await s.b.worker.run { s.b.add(viewer); s.b.add(other) }
        try await s.b.worker.run {
            var packet = Livekit_DataPacket.with { $0.user = .with { $0.payload = Data("hi".utf8) } }
            s.b.relay(&packet, reliable: true, from: viewer)
        }
        try await s.a.worker.run {
            var direct = Livekit_DataPacket.with { $0.destinationIdentities = ["other"]; $0.user = .with { $0.payload = Data("x".utf8) } }
            s.a.relay(&direct, reliable: false, from: host)
        }
        // Both hubs' queues run what was scheduled before these jobs.
        try await s.a.worker.run {}
        try await s.b.worker.run {}
        let hostGot = host.delivered.withLock { $0 }, viewerGot = viewer.delivered.withLock { $0 }
        let otherGot = other.delivered.withLock { $0 }
        #expect(hostGot.count == 1 && viewerGot.isEmpty && otherGot.count == 2)
        let received = try Livekit_DataPacket(serializedBytes: hostGot[0])
        #expect(received.participantIdentity == "viewer" && received.user.payload == Data("hi".utf8))
    }
}
