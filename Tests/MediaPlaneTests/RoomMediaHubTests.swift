import Foundation
import LiveKitProto
import Logging
import MediaPlane
import SFU
import Signal
import Synchronization
import Testing
import WebRTC

/// A transport that only counts what it is asked to send.
private final class NullTransport: MediaTransport {
    func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool { true }
    func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool { true }
}

/// A door as the hub sees it: `autoSubscribe`/`canSubscribe` make it a LiveKit client (true),
/// a WHEP viewer or a WHIP encoder (false); it records what the hub asks of it.
private final class FakeMember: RoomMember, @unchecked Sendable {
    let sid: String
    let door = MemberDoor.livekit
    let identity: String
    let permission = Livekit_ParticipantPermission.with { $0.canSubscribe = true; $0.canPublish = true }
    let participant: SFU.Participant
    var events: [MediaRoomEvent] = []
    let logger = Logger(label: "test")
    let autoSubscribe: Bool
    let canSubscribe: Bool
    var subscribed: [(track: String, publisher: String)] = []
    var unsubscribed: [String] = []
    var offers = 0
    var delivered: [[UInt8]] = []
    var closed = false

    init(_ identity: String, receives: Bool) {
        sid = "PA_" + identity
        self.identity = identity
        participant = SFU.Participant(sid: sid, identity: identity, transport: NullTransport())
        autoSubscribe = receives
        canSubscribe = receives
    }

    var subscribedTrackSids: [String] { subscribed.map(\.track).filter { !unsubscribed.contains($0) } }
    func subscribe(to track: PublishedTrack, publisher: any RoomMember) { subscribed.append((track.id, publisher.sid)) }
    func unsubscribe(trackSid: String, track: PublishedTrack?) { unsubscribed.append(trackSid) }
    func negotiateSubscriber() { offers += 1 }
    func announceWantedLayers(of track: PublishedTrack) {}
    func announceDueLayers(now: UInt64) {}
    func deliver(_ bytes: [UInt8], reliable: Bool) { delivered.append(bytes) }
    func roomEvent(_ event: MediaRoomEvent) { events.append(event) }
    func logSubscriptionStats() {}
    func close() { closed = true }
}

@Suite struct RoomMediaHubTests {
    private static let vp8 = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000)

    /// Runs `body` on a fresh room's worker, as the hub requires.
    private func onRoomWorker(_ body: @escaping @Sendable (RoomMediaHub, SFU.Room) throws -> Void) async throws {
        let worker = MediaWorker(name: "hub-test")
        defer { worker.stop() }
        let room = SFU.Room(name: "shop", executor: worker)
        let hub = RoomMediaHub(room: room, worker: worker)
        try await worker.run { try body(hub, room) }
    }

    private func publish(_ member: FakeMember, in room: SFU.Room) -> PublishedTrack {
        room.publish(member.participant, kind: .video, codec: Self.vp8, ssrc: 1234, id: "TR_cam")
    }

    @Test func anEncodersTrackReachesEveryMemberThatReceivesByItself() async throws {
        try await onRoomWorker { hub, room in
            let viewer = FakeMember("viewer", receives: true)
            let whepViewer = FakeMember("whep", receives: false)
            let encoder = FakeMember("obs", receives: false)
            hub.add(viewer)
            hub.add(whepViewer)
            hub.add(encoder)
            let track = publish(encoder, in: room)
            hub.published(track, by: encoder)
            #expect(viewer.subscribed.map(\.track) == ["TR_cam"])
            // The subscriber offer names the publisher by its LiveKit sid (clients match stream ids).
            #expect(viewer.subscribed.map(\.publisher) == ["PA_obs"])
            #expect(whepViewer.subscribed.isEmpty && encoder.subscribed.isEmpty)
            #expect(viewer.offers == 2, "one offer on joining, one for the new track")
        }
    }

    @Test func aLateJoinerReceivesWhatIsAlreadyPublished() async throws {
        try await onRoomWorker { hub, room in
            let encoder = FakeMember("obs", receives: false)
            hub.add(encoder)
            hub.published(publish(encoder, in: room), by: encoder)
            let viewer = FakeMember("viewer", receives: true)
            hub.add(viewer)
            #expect(viewer.subscribed.map(\.track) == ["TR_cam"] && viewer.offers == 1)
        }
    }

    @Test func aPublisherLeavingEndsItsTracksForItsViewers() async throws {
        try await onRoomWorker { hub, room in
            let encoder = FakeMember("obs", receives: false)
            let viewer = FakeMember("viewer", receives: true)
            hub.add(encoder)
            hub.add(viewer)
            hub.published(publish(encoder, in: room), by: encoder)
            let offers = viewer.offers
            hub.remove(encoder)
            #expect(encoder.closed)
            #expect(viewer.unsubscribed == ["TR_cam"] && viewer.offers == offers + 1)
            #expect(hub.member(identity: "obs") == nil)
            #expect(room.participants.count == 1)
        }
    }

    @Test func dataGoesToEveryoneButTheSenderOrToItsDestinations() async throws {
        try await onRoomWorker { hub, _ in
            let a = FakeMember("a", receives: true), b = FakeMember("b", receives: true), c = FakeMember("c", receives: true)
            for member in [a, b, c] { hub.add(member) }
            var packet = Livekit_DataPacket.with { $0.user = .with { $0.payload = Data("hi".utf8) } }
            hub.relay(&packet, reliable: true, from: a)
            #expect(a.delivered.isEmpty && b.delivered.count == 1 && c.delivered.count == 1)
            let received = try Livekit_DataPacket(serializedBytes: b.delivered[0])
            #expect(received.participantIdentity == "a", "the sender is named by the server, not the client")
            var direct = Livekit_DataPacket.with { $0.destinationIdentities = ["c"]; $0.user = .with { $0.payload = Data("x".utf8) } }
            hub.relay(&direct, reliable: false, from: nil)
            #expect(b.delivered.count == 1 && c.delivered.count == 2)
        }
    }
}
