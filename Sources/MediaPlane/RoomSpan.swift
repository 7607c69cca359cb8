import Logging
import SFU
import Synchronization
import WebRTC

/// One room's media over several workers: a hub per worker the room uses (the first one, the
/// room's home, takes every member until the room is large; later joiners go to the hub with
/// the fewest members, see `MediaSessions`), and the links that make them one room.
///
/// - Every track published on one hub is relayed into every other hub (`TrackRelay`: the
///   publisher's worker receives, decrypts and caches once, and copies each packet into one
///   lock-free ring per other worker), where a `RelayedMember` stands in for its publisher. The
///   other hubs then link the mirror to their members as any track: subscriptions, layer
///   selection, NACKs (answered from the mirror's own cache) and keyframe requests (carried
///   back through the ring's side channel) all stay on the subscriber's worker.
/// - Data packets go from the sender's hub to every other hub's members.
///
/// Hubs report publications from their workers; one task handles those reports in order
/// (opening a relay takes a few hops between workers), so a track's relays are always opened
/// before they are closed, and a hub added later gets relays of everything already published.
public final class RoomSpan: @unchecked Sendable {
    public let roomName: String
    private let logger: Logger

    private enum Event: @unchecked Sendable {
        case hubAdded(RoomMediaHub)
        case hubRemoved(RoomMediaHub)
        case published(PublishedTrack, MemberSnapshot, RoomMediaHub)
        case unpublished(trackID: String, RoomMediaHub)
        /// Resumed once everything before it was handled.
        case settled(CheckedContinuation<Void, Never>)
        case close
    }

    /// A track of one hub, and the relays that copy it into the others.
    private final class SpannedTrack {
        /// Touched only on `hub`'s worker (TrackRelay reads it there).
        let track: PublishedTrack
        let id: String
        let publisher: MemberSnapshot
        let hub: RoomMediaHub
        var links: [Link] = []

        init(track: PublishedTrack, id: String, publisher: MemberSnapshot, hub: RoomMediaHub) {
            self.track = track
            self.id = id
            self.publisher = publisher
            self.hub = hub
        }
    }

    private struct Link {
        let hub: RoomMediaHub
        let relay: TrackRelay
        let standIn: RelayedMember
    }

    private let events: AsyncStream<Event>.Continuation
    /// Every hub, for data packets (which come from any worker at any time).
    private let dataHubs = Mutex<[RoomMediaHub]>([])

    // The event task's own state.
    private var hubs: [RoomMediaHub] = []
    private var tracks: [SpannedTrack] = []
    private var standIns: [ObjectIdentifier: [String: RelayedMember]] = [:]

    /// Relays opened and closed so far (for tests and the log).
    private let relaysOpened = Atomic<Int>(0)
    private let relaysClosed = Atomic<Int>(0)
    public var relayCounts: (opened: Int, closed: Int) {
        (relaysOpened.load(ordering: .relaxed), relaysClosed.load(ordering: .relaxed))
    }

    public init(roomName: String, logger: Logger) {
        self.roomName = roomName
        self.logger = logger
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self)
        events = continuation
        // Holds the span until `close` finishes the stream.
        Task { for await event in stream { await self.handle(event) } }
    }

    /// Makes `hub` one of the room's (before any member joins it). Tracks published on the
    /// other hubs reach it shortly after.
    public func add(_ hub: RoomMediaHub) {
        hub.span = self
        dataHubs.withLock { $0.append(hub) }
        events.yield(.hubAdded(hub))
    }

    /// Takes a hub whose members all left out of the room: the relays into it end (it would
    /// keep copying packets nobody there watches).
    public func remove(_ hub: RoomMediaHub) {
        dataHubs.withLock { $0.removeAll { $0 === hub } }
        events.yield(.hubRemoved(hub))
    }

    /// Ends every relay; the room is over.
    public func close() {
        dataHubs.withLock { $0.removeAll() }
        events.yield(.close)
        events.finish()
    }

    /// Waits until every report made so far has been handled (tests).
    public func settle() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            if case .terminated = events.yield(.settled(done)) { done.resume() }
        }
    }

    // MARK: Reports from hubs (on their workers)

    func trackPublished(_ track: PublishedTrack, by member: any RoomMember, in hub: RoomMediaHub) {
        events.yield(.published(track, MemberSnapshot(member), hub))
    }

    func trackUnpublished(_ trackID: String, in hub: RoomMediaHub) {
        events.yield(.unpublished(trackID: trackID, hub))
    }

    /// A data packet `source` delivered to its own members goes to everyone else's.
    func dataRelayed(_ bytes: [UInt8], reliable: Bool, destinations: Set<String>, senderSid: String?,
                     from source: RoomMediaHub) {
        let others = dataHubs.withLock { hubs in hubs.filter { $0 !== source } }
        for hub in others {
            hub.worker.execute {
                hub.deliverRelayed(bytes, reliable: reliable, destinations: destinations, senderSid: senderSid)
            }
        }
    }

    /// True for the room's first hub (its home), which times the stats of all of them.
    func isHome(_ hub: RoomMediaHub) -> Bool {
        dataHubs.withLock { $0.first === hub }
    }

    /// The home hub sampled its stats: the other hubs sample theirs under the same stamp.
    func sampleOthers(than home: RoomMediaHub, stampMs: UInt64) {
        let others = dataHubs.withLock { hubs in hubs.filter { $0 !== home } }
        for hub in others { hub.worker.execute { hub.sampleStats(stampMs: stampMs) } }
    }

    // MARK: The event task

    private func handle(_ event: Event) async {
        switch event {
        case .hubAdded(let hub):
            hubs.append(hub)
            for entry in tracks where entry.hub !== hub { await relay(entry, into: hub) }
        case .hubRemoved(let hub):
            hubs.removeAll { $0 === hub }
            for entry in tracks {
                let leaving = entry.links.filter { $0.hub === hub }
                entry.links.removeAll { $0.hub === hub }
                for link in leaving { await end(link) }
            }
            // Whatever it published itself ended with its members.
            tracks.removeAll { $0.hub === hub }
            standIns[ObjectIdentifier(hub)] = nil
        case .published(let track, let publisher, let hub):
            guard hubs.contains(where: { $0 === hub }) else { return }
            let entry = SpannedTrack(track: track, id: track.id, publisher: publisher, hub: hub)
            tracks.append(entry)
            for other in hubs where other !== hub { await relay(entry, into: other) }
        case .unpublished(let trackID, let hub):
            guard let index = tracks.firstIndex(where: { $0.id == trackID && $0.hub === hub }) else { return }
            let entry = tracks.remove(at: index)
            for link in entry.links { await end(link) }
        case .settled(let done):
            done.resume()
        case .close:
            for entry in tracks {
                for link in entry.links { await end(link) }
            }
            tracks.removeAll()
            hubs.removeAll()
        }
    }

    /// Opens a relay of `entry` into `destination` and lets that hub's members have it.
    private func relay(_ entry: SpannedTrack, into destination: RoomMediaHub) async {
        let standIn = await standIn(for: entry.publisher, in: destination)
        let source = entry.hub
        do {
            let relay = try await TrackRelay.open(entry.track, of: source.room, on: source.worker,
                                                  into: destination.room, on: destination.worker,
                                                  as: standIn.participant, feedback: standIn.feedback,
                                                  onWantedLayersChanged: { track in source.announceWantedLayers(of: track) })
            nonisolated(unsafe) let mirror = relay.relayed.mirror
            try await destination.worker.run { destination.published(mirror, by: standIn) }
            entry.links.append(Link(hub: destination, relay: relay, standIn: standIn))
            relaysOpened.add(1, ordering: .relaxed)
            logger.debug("track relayed between workers", metadata: [
                "room": "\(roomName)", "track": "\(entry.id)", "from": "\(entry.hub.worker.name)",
                "to": "\(destination.worker.name)"])
        } catch {
            logger.warning("could not relay a track to another worker", metadata: [
                "room": "\(roomName)", "track": "\(entry.id)", "error": "\(error)"])
        }
    }

    /// Ends one relay: the mirror's subscribers let it go, then the rings close; the stand-in
    /// leaves with its last mirror.
    private func end(_ link: Link) async {
        let hub = link.hub, standIn = link.standIn
        nonisolated(unsafe) let mirror = link.relay.relayed.mirror
        _ = try? await hub.worker.run { hub.unpublished(mirror, by: standIn) }
        await link.relay.close()
        relaysClosed.add(1, ordering: .relaxed)
        let idle = (try? await hub.worker.run { standIn.participant.publishedTracks.isEmpty }) ?? true
        if idle {
            _ = try? await hub.worker.run { hub.remove(standIn) }
            standIns[ObjectIdentifier(hub)]?[standIn.sid] = nil
        }
    }

    private func standIn(for publisher: MemberSnapshot, in hub: RoomMediaHub) async -> RelayedMember {
        if let existing = standIns[ObjectIdentifier(hub)]?[publisher.sid] { return existing }
        let standIn = RelayedMember(of: publisher, logger: logger)
        standIns[ObjectIdentifier(hub), default: [:]][publisher.sid] = standIn
        _ = try? await hub.worker.run { hub.add(standIn) }
        return standIn
    }
}
