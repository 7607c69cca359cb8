import EdgeLink
import EdgeRelay
import LiveKitProto
import Logging
import SFU
import WebRTC

/// An edge node's media copy of a room that lives on another node (its origin): every track
/// the origin's participants publish is subscribed once over the node-to-node `EdgeMirrorLink`
/// and published in this node's hub as a mirror, by a `RelayedMember` standing in for its real
/// publisher (same sid and identity, so this node's viewers see the tracks where the origin's
/// viewers see them). This node's viewers then subscribe, pick layers, NACK and ask for
/// keyframes on their own worker; only the union of their wishes goes back over the link.
///
/// `sync` and `close` are called by one owner, one at a time (the server's edge room registry).
public final class EdgeRoomFeed: @unchecked Sendable {
    public let hub: RoomMediaHub
    public let link: EdgeMirrorLink
    private let logger: Logger
    private var standIns: [String: RelayedMember] = [:]  // by publisher sid
    /// Mirrored track sid -> its publisher's sid and the mirror.
    private var mirrored: [String: (publisher: String, mirror: PublishedTrack)] = [:]

    /// One of the origin's publishers, as the edge needs it.
    public struct Publisher: Sendable {
        public var sid: String
        public var identity: String
        public var trackSids: [String]
        public init(sid: String, identity: String, trackSids: [String]) {
            self.sid = sid
            self.identity = identity
            self.trackSids = trackSids
        }
    }

    public init(hub: RoomMediaHub, endpoint: EdgeLinkEndpoint, logger: Logger) {
        self.hub = hub
        self.logger = logger
        // The link's own publisher is never used: every mirror names its stand-in.
        let feedback = RelayFeedbackTransport()
        link = EdgeMirrorLink(endpoint: endpoint, room: hub.room, worker: hub.worker,
                              publisher: SFU.Participant(sid: "PA_edge_link", identity: "edge-link", transport: feedback),
                              feedback: feedback)
    }

    public func start() { link.start() }

    /// Mirrors exactly the tracks of `publishers`: new ones are subscribed at the origin and
    /// published here, ones no longer listed end for this node's viewers. A track the origin
    /// does not answer for is retried at the next sync.
    public func sync(_ publishers: [Publisher]) async {
        var wanted: [String: String] = [:]
        for publisher in publishers { for track in publisher.trackSids { wanted[track] = publisher.sid } }
        for (track, entry) in mirrored where wanted[track] != entry.publisher { await unmirror(track) }
        for publisher in publishers {
            for track in publisher.trackSids where mirrored[track] == nil {
                let standIn = await standIn(for: publisher)
                do {
                    let relayed = try await link.mirror(track, publisher: standIn.participant, feedback: standIn.feedback,
                                                        timeout: .seconds(2))
                    nonisolated(unsafe) let mirror = relayed.mirror
                    let hub = self.hub
                    try await hub.worker.run { hub.published(mirror, by: standIn) }
                    mirrored[track] = (publisher.sid, relayed.mirror)
                    logger.info("edge: track mirrored from the origin", metadata: [
                        "room": "\(hub.room.name)", "track": "\(track)", "publisher": "\(publisher.identity)"])
                } catch {
                    logger.warning("edge: origin did not serve a track (retried)", metadata: [
                        "room": "\(hub.room.name)", "track": "\(track)", "error": "\(error)"])
                }
            }
        }
        let publishing = Set(mirrored.values.map(\.publisher))
        for (sid, standIn) in standIns where !publishing.contains(sid) {
            let hub = self.hub
            _ = try? await hub.worker.run { hub.remove(standIn) }
            standIns[sid] = nil
        }
    }

    /// Ends every mirror and the link.
    public func close() async {
        await sync([])
        link.close()
    }

    public func counters() async -> [EdgeMirrorLink.TrackCounters] { await link.counters() }

    private func unmirror(_ track: String) async {
        guard let entry = mirrored.removeValue(forKey: track), let standIn = standIns[entry.publisher] else { return }
        nonisolated(unsafe) let mirror = entry.mirror
        let hub = self.hub
        _ = try? await hub.worker.run { hub.unpublished(mirror, by: standIn) }
        await link.unmirror(track)
    }

    private func standIn(for publisher: Publisher) async -> RelayedMember {
        if let existing = standIns[publisher.sid] { return existing }
        let standIn = RelayedMember(of: MemberSnapshot(door: .livekit, sid: publisher.sid, identity: publisher.identity,
                                                       permission: Livekit_ParticipantPermission()),
                                    logger: logger)
        standIns[publisher.sid] = standIn
        let hub = self.hub
        _ = try? await hub.worker.run { hub.add(standIn) }
        return standIn
    }
}
