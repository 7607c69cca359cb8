import LiveKitProto
import Logging
import SFU
import Signal

/// A participant of a room's media, whichever door it came through: a LiveKit client (`/rtc`,
/// two peer connections and signalling), a WHIP encoder (publishes, never receives) or a WHEP
/// viewer (receives what it asked for at its single negotiation). The hub links members by
/// this protocol alone, so a WHIP publisher's tracks reach LiveKit viewers and a LiveKit host's
/// tracks reach WHEP viewers the same way they reach each other.
///
/// Confined to the room's media worker, like the hub.
public protocol RoomMember: AnyObject {
    /// How it came in.
    var door: MemberDoor { get }
    /// The LiveKit participant sid (the RoomManager's), which subscribers see in stream ids.
    var sid: String { get }
    var identity: String { get }
    var permission: Livekit_ParticipantPermission { get }
    /// The member's side of the SFU room.
    var participant: SFU.Participant { get }
    var logger: Logger { get }
    /// Receives every track published after it joined, without asking.
    var autoSubscribe: Bool { get }
    /// May receive tracks now (the grant, and a door that can add m-lines later).
    var canSubscribe: Bool { get }
    /// The track sids this member receives.
    var subscribedTrackSids: [String] { get }

    /// Starts receiving `track` of `publisher` (sent with the next `negotiateSubscriber`).
    func subscribe(to track: PublishedTrack, publisher: any RoomMember)
    /// Stops receiving `trackSid`; `track` is nil when the SFU room already dropped its DownTrack.
    func unsubscribe(trackSid: String, track: PublishedTrack?)
    /// Tells the client what it receives now (an SDP offer), if its door renegotiates.
    func negotiateSubscriber()
    /// Dynacast: tells this member, as the publisher of `track`, which layers are wanted.
    func announceWantedLayers(of track: PublishedTrack)
    /// Dynacast: sends the announcements whose delay (layers no longer wanted) ran out by `now`.
    func announceDueLayers(now: UInt64)
    /// Something the room's media says to everyone (speakers, connection quality); doors
    /// without signalling drop it.
    func roomEvent(_ event: MediaRoomEvent)
    /// A serialized DataPacket for this member.
    func deliver(_ bytes: [UInt8], reliable: Bool)
    /// What each subscription did, for the log when the member leaves.
    func logSubscriptionStats()
    /// Closes the member's connections; the hub has already taken it out of the room.
    func close()
    /// True for a stand-in of a member of another of the room's hubs (`RelayedMember`): its
    /// tracks are relayed copies, and it is nobody's to address, count or report on this hub.
    var isRelayCopy: Bool { get }
}

/// The ways into a room.
public enum MemberDoor: String, Sendable, Codable {
    /// A LiveKit client SDK on `/rtc`.
    case livekit
    /// A WHIP encoder.
    case whip
    /// A WHEP player.
    case whep
}

extension RoomMember {
    public var isRelayCopy: Bool { false }
    public var publishedTracks: [PublishedTrack] { participant.publishedTracks }
}
