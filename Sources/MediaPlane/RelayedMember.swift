import LiveKitProto
import Logging
import SFU

/// A publisher of another of the room's hubs as this hub sees it: it "publishes" the mirrors
/// of that member's tracks (fed by `TrackRelay`s), so the hub links them to its own members
/// exactly as it links local tracks (auto-subscribe, UpdateSubscription, speakers from the
/// mirrors' audio levels, connection quality). It receives nothing, says nothing and has no
/// connection: the real member lives on its own hub, which does all of that for it.
///
/// Confined to its hub's worker, like every member (the reference crosses workers; its state
/// does not).
final class RelayedMember: RoomMember, @unchecked Sendable {
    let door: MemberDoor
    let sid: String
    let identity: String
    let permission: Livekit_ParticipantPermission
    let participant: SFU.Participant
    let logger: Logger
    /// The mirrors' "publisher transport": their keyframe requests go back to the source.
    let feedback: RelayFeedbackTransport

    init(of origin: MemberSnapshot, logger: Logger) {
        door = origin.door
        sid = origin.sid
        identity = origin.identity
        permission = origin.permission
        self.logger = logger
        let feedback = RelayFeedbackTransport()
        self.feedback = feedback
        participant = SFU.Participant(sid: origin.sid, identity: origin.identity, publisherTransport: feedback,
                                      subscriberTransport: NoTransport())
        participant.isRelayCopy = true
    }

    var isRelayCopy: Bool { true }
    var autoSubscribe: Bool { false }
    var canSubscribe: Bool { false }
    var subscribedTrackSids: [String] { [] }

    func subscribe(to track: PublishedTrack, publisher: any RoomMember) {}
    func unsubscribe(trackSid: String, track: PublishedTrack?) {}
    func negotiateSubscriber() {}
    /// Dynacast across a relay: the highest layer this hub's viewers want of a mirror goes back
    /// to the source's worker, where it is what the relay asks of the publisher.
    func announceWantedLayers(of track: PublishedTrack) {
        guard track.kind == .video, let relayed = feedback.tracks.first(where: { $0.mirror === track }) else { return }
        relayed.wantLayer(track.highestWantedLayer)
    }
    func announceDueLayers(now: UInt64) {}
    func roomEvent(_ event: MediaRoomEvent) {}
    func deliver(_ bytes: [UInt8], reliable: Bool) {}
    func logSubscriptionStats() {}
    func close() {}
}

/// What a hub needs to know of a member to stand in for it elsewhere, taken on the member's
/// worker and carried to others.
struct MemberSnapshot: Sendable {
    let door: MemberDoor
    let sid: String
    let identity: String
    let permission: Livekit_ParticipantPermission

    init(door: MemberDoor, sid: String, identity: String, permission: Livekit_ParticipantPermission) {
        self.door = door
        self.sid = sid
        self.identity = identity
        self.permission = permission
    }

    init(_ member: any RoomMember) {
        door = member.door
        sid = member.sid
        identity = member.identity
        permission = member.permission
    }
}

/// A stand-in's subscriber side: it never receives, so nothing is ever sent here.
private final class NoTransport: MediaTransport {
    func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool { false }
    func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool { false }
}
