import Foundation
import LiveKitProto
import Signal
import Logging
import Media
import SFU
import WebRTC

/// The media plane's bookkeeping: a pool of media workers, the rooms on them and the open
/// WHIP/WHEP sessions by id. A room starts on one worker (its home: a `RoomMediaHub` and its
/// SFU `Room`); once it has `spreadRoomsAfter` members, later LiveKit joiners go to whichever
/// of the room's hubs (one per worker) has the fewest, and a `RoomSpan` relays every track
/// between them, so one room's fan-out runs on every core. WHIP/WHEP sessions stay home.
/// Control plane only: each call reaches a worker with a few awaited jobs; packets never come
/// through here.
public actor MediaSessions {
    public struct Settings: Sendable {
        public var localAddresses: [String]
        public var portRange: ClosedRange<UInt16>?
        /// ICE-TCP: passive TCP host candidates besides UDP (see `ICEConfiguration.tcp`).
        public var iceTCP: Bool
        public var workerCount: Int
        /// Members a room has before later LiveKit joiners spread over the other workers
        /// (0: a room never leaves its home worker).
        public var spreadRoomsAfter: Int
        public var gatheringTimeout: Duration = .seconds(5)

        public init(localAddresses: [String], portRange: ClosedRange<UInt16>?, iceTCP: Bool = false, workerCount: Int,
                    spreadRoomsAfter: Int = 0, gatheringTimeout: Duration = .seconds(5)) {
            self.localAddresses = localAddresses
            self.portRange = portRange
            self.iceTCP = iceTCP
            self.workerCount = workerCount
            self.spreadRoomsAfter = spreadRoomsAfter
            self.gatheringTimeout = gatheringTimeout
        }
    }

    private struct RoomEntry {
        /// The room's hubs, home first, and how many members each serves.
        var hubs: [(hub: RoomMediaHub, members: Int)]
        let span: RoomSpan
        /// WHIP/WHEP session ids and LiveKit participant sids keeping the room open.
        var sessions: Set<String> = []
        /// An edge room (a copy of a room that lives on another node): it stays on its home
        /// worker, where its mirrors of the origin's tracks are published.
        var edge = false

        var hub: RoomMediaHub { hubs[0].hub }
        var room: SFU.Room { hub.room }
        var worker: MediaWorker { hub.worker }
    }

    public nonisolated let settings: Settings
    public let logger: Logger
    private let certificate: DTLSCertificate
    private let workers: [MediaWorker]
    private var nextWorker = 0
    private var rooms: [String: RoomEntry] = [:]
    private var sessions: [String: MediaSession] = [:]
    private var leaveObservers: [@Sendable (MediaSession) -> Void] = []
    /// Sessions that were answered (observers hear about these only).
    private var established: Set<String> = []

    public init(settings: Settings, logger: Logger,
         onSessionEnded: (@Sendable (MediaSession) -> Void)? = nil) throws {
        self.settings = settings
        if let onSessionEnded { leaveObservers.append(onSessionEnded) }
        self.logger = logger
        certificate = try DTLSCertificate(commonName: "sluice")
        workers = (0..<max(1, settings.workerCount)).map { MediaWorker(name: "sluice-media-\($0)") }
        SCTPStack.start()
    }

    /// Called (on the control plane) whenever a session ends, however it ended.
    public func onSessionEnded(_ observer: @escaping @Sendable (MediaSession) -> Void) {
        leaveObservers.append(observer)
    }

    public var sessionCount: Int { sessions.count }
    /// WHIP/WHEP sessions and LiveKit participants holding media ports now.
    public var mediaSessionCount: Int { rooms.values.reduce(0) { $0 + $1.sessions.count } }
    public var roomCount: Int { rooms.count }

    public func session(id: String) -> MediaSession? { sessions[id] }

    /// True when `identity` currently publishes in `room`, through any door.
    public func publishes(room: String, identity: String) async -> Bool {
        guard let entry = rooms[room] else { return false }
        let sfuRoom = entry.room
        return (try? await entry.worker.run {
            sfuRoom.publisher(identity: identity) != nil
        }) ?? false
    }

    /// Opens a session and returns it with its SDP answer. Throws `NegotiationError` for offers
    /// we cannot answer (a 400), `MediaSessionError.publisherGone` for a WHEP target that does
    /// not publish (a 404).
    public func open(room roomName: String, identity: String, role: MediaSession.Role, quality: LayerSelector.Quality = .high,
              offer: SessionDescription) async throws -> (MediaSession, String) {
        let entry = roomEntry(roomName)
        let id = SessionID.make(prefix: role == .publisher ? "WHIP_" : "WHEP_")
        let session = MediaSession(id: id, roomName: roomName, identity: identity, role: role, quality: quality,
                                   worker: entry.worker, hub: entry.hub, logger: logger,
                                   onClosed: { [weak self] session in
                                       guard let self else { return }
                                       Task { await self.forget(session) }
                                   })
        sessions[id] = session
        if rooms[roomName]?.sessions.insert(id).inserted == true { rooms[roomName]?.hubs[0].members += 1 }
        do {
            let certificate = self.certificate
            let settings = self.settings
            try await entry.worker.run {
                try session.open(offer: offer, certificate: certificate, localAddresses: settings.localAddresses,
                                 portRange: settings.portRange, tcp: settings.iceTCP)
            }
            let deadline = ContinuousClock.now + settings.gatheringTimeout
            while !(try await entry.worker.run { session.isGatheringDone }) {
                guard ContinuousClock.now < deadline else { throw MediaSessionError.gatheringTimedOut }
                try await Task.sleep(for: .milliseconds(5))
            }
            let answer: String = try await entry.worker.run {
                switch role {
                case .publisher: try session.answerAsPublisher()
                case .subscriber(let publisher): try session.answerAsSubscriber(publisherIdentity: publisher)
                }
            }
            established.insert(id)
            logger.info("media session opened", metadata: [
                "session": "\(id)", "room": "\(roomName)", "identity": "\(identity)", "role": "\(role)"])
            return (session, answer)
        } catch {
            await close(session)
            throw error
        }
    }

    /// Makes an open session the room member `sid` (the RoomManager admitted it).
    public func enroll(_ session: MediaSession, sid: String, permission: Livekit_ParticipantPermission) async {
        _ = try? await session.worker.run { session.enroll(sid: sid, permission: permission) }
    }

    /// Closes a session (DELETE, replaced publisher, room deleted). Frees everything it held.
    public func close(_ session: MediaSession) async {
        _ = try? await session.worker.run { session.close() }
        forget(session)
    }

    /// Closes the publisher sessions of `identity` in `room` (a new WHIP session with the same
    /// identity replaces the old one, as LiveKit does with duplicate identities).
    public func closePublisher(room: String, identity: String) async {
        for session in sessions.values where session.roomName == room && session.identity == identity && session.role == .publisher {
            await close(session)
        }
    }

    /// Closes every session of a room.
    public func closeRoom(_ name: String) async {
        for session in sessions.values where session.roomName == name {
            await close(session)
        }
    }

    // MARK: LiveKit participants

    /// Creates the media side of a LiveKit participant (both peer connections, gathered) and
    /// adds it to its room's hub, which sends the first subscriber offer through `sink`.
    public func openParticipant(room roomName: String, sid: String, identity: String, permission: Livekit_ParticipantPermission,
                         autoSubscribe: Bool, singlePeerConnection: Bool = false, sink: any SignalSink,
                         onConnected: @escaping @Sendable () -> Void,
                         onFailed: @escaping @Sendable (String) -> Void) async throws -> RTCParticipant {
        let hub = placeMember(sid, in: roomName)
        rooms[roomName]?.sessions.insert(sid)
        let certificate = self.certificate, settings = self.settings, logger = self.logger
        let worker = hub.worker
        do {
            let participant = try await worker.run {
                let participant = try RTCParticipant(
                    sid: sid, identity: identity, roomName: roomName, permission: permission, autoSubscribe: autoSubscribe,
                    hub: hub, sink: sink, certificate: certificate, localAddresses: settings.localAddresses,
                    portRange: settings.portRange, tcp: settings.iceTCP, singlePeerConnection: singlePeerConnection,
                    logger: logger)
                participant.onConnected = onConnected
                participant.onFailed = { [weak self, weak participant] why in
                    onFailed(why)
                    // Its media is gone for good (ICE failed, consent lost, never connected): it
                    // leaves the room's media at once. Waiting for its signalling to wind down
                    // kept it in the hub for as long as the client held its WebSocket half-open:
                    // later joiners were offered its dead tracks (silent forever) and its sockets
                    // stayed open (issue #20's soak: silent late joiners, fds above the baseline).
                    guard let self, let participant else { return }
                    Task { await self.closeParticipant(participant) }
                }
                return participant
            }
            let deadline = ContinuousClock.now + settings.gatheringTimeout
            while !(try await worker.run { participant.isGatheringDone }) {
                guard ContinuousClock.now < deadline else {
                    _ = try? await worker.run { participant.close() }
                    throw MediaSessionError.gatheringTimedOut
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            try await worker.run { hub.add(participant) }
            return participant
        } catch {
            forgetParticipant(sid, room: roomName, hub: hub)
            throw error
        }
    }

    /// The hub a new LiveKit member of `name` joins: home until the room has
    /// `spreadRoomsAfter` members, then the room's hub with the fewest members, opening one on a
    /// worker the room does not use yet when that has fewer (none). Counted at once, so joins
    /// that race each other spread too.
    private func placeMember(_ sid: String, in name: String) -> RoomMediaHub {
        var entry = roomEntry(name)
        var chosen = 0
        let total = entry.hubs.reduce(0) { $0 + $1.members }
        if settings.spreadRoomsAfter > 0, workers.count > 1, total >= settings.spreadRoomsAfter, !entry.edge {
            for index in entry.hubs.indices where entry.hubs[index].members < entry.hubs[chosen].members {
                chosen = index
            }
            if entry.hubs.count < workers.count, entry.hubs[chosen].members > 0,
               let worker = workers.first(where: { worker in !entry.hubs.contains { $0.hub.worker === worker } }) {
                let room = SFU.Room(name: name, executor: worker)
                let hub = RoomMediaHub(room: room, worker: worker)
                entry.span.add(hub)
                entry.hubs.append((hub, 0))
                chosen = entry.hubs.count - 1
                logger.info("room spread to another worker", metadata: [
                    "room": "\(name)", "worker": "\(worker.name)", "members": "\(total)"])
            }
        }
        entry.hubs[chosen].members += 1
        rooms[name] = entry
        if entry.hubs.count > 1 {
            logger.debug("member placed", metadata: [
                "room": "\(name)", "participant": "\(sid)", "worker": "\(entry.hubs[chosen].hub.worker.name)",
                "members": "\(entry.hubs.map(\.members))"])
        }
        return entry.hubs[chosen].hub
    }

    // MARK: Edge rooms

    /// What holds an edge room's media open while its feed lives (a session id no client has).
    static let edgeFeedHolder = "edge-feed"

    /// Opens (or finds) the media room of an edge room and holds it open until `closeEdgeRoom`:
    /// the feed publishes the origin's mirrors into its home hub.
    public func openEdgeRoom(_ name: String) -> RoomMediaHub {
        var entry = roomEntry(name)
        entry.edge = true
        entry.sessions.insert(Self.edgeFeedHolder)
        rooms[name] = entry
        return entry.hub
    }

    /// Lets an edge room's media close once its last viewer has gone.
    public func closeEdgeRoom(_ name: String) {
        guard rooms[name]?.sessions.remove(Self.edgeFeedHolder) != nil else { return }
        closeIfEmpty(name)
    }

    /// Every hub of an open room, home first (RoomService looks for a member in each).
    public func hubs(room name: String) -> [RoomMediaHub] { rooms[name]?.hubs.map(\.hub) ?? [] }

    /// Removes a LiveKit participant's media: its tracks end for the others, its connections close.
    /// Idempotent: a participant whose media failed is closed here at once and again when its
    /// signalling ends; by then its room (and hub, which the participant does not own) may be gone.
    public func closeParticipant(_ participant: RTCParticipant) async {
        guard rooms[participant.roomName]?.sessions.contains(participant.sid) == true,
              let hub = participant.hub else { return }
        _ = try? await participant.worker.run { hub.remove(participant) }
        forgetParticipant(participant.sid, room: participant.roomName, hub: hub)
    }

    /// The hub of an open media room, for the RoomService (SendData, UpdateSubscriptions).
    public func hub(room name: String) -> RoomMediaHub? { rooms[name]?.hub }

    /// Every open room's stats as of its last sample (see `RoomMediaHub.latestStats`).
    public func stats() async -> [RoomStats] {
        var all: [RoomStats] = []
        for entry in rooms.values {
            var parts: [RoomStats] = []
            for (hub, _) in entry.hubs {
                if case let stats?? = try? await hub.worker.run({ hub.latestStats }) { parts.append(stats) }
            }
            if let merged = RoomStats.merging(parts) { all.append(merged) }
        }
        return all.sorted { $0.room < $1.room }
    }

    /// Media counters of every room (one hop onto each room's executor) and the WHIP/WHEP
    /// sessions by role, for a metrics scrape.
    public func metricsSample() async -> (traffic: [RoomTraffic], whip: Int, whep: Int) {
        var whip = 0, whep = 0
        for session in sessions.values {
            if case .publisher = session.role { whip += 1 } else { whep += 1 }
        }
        var traffic: [RoomTraffic] = []
        for entry in rooms.values {
            for (hub, _) in entry.hubs {
                let room = hub.room
                if let sample = try? await hub.worker.run({ room.traffic() }) { traffic.append(sample) }
            }
        }
        return (traffic, whip, whep)
    }

    private func forgetParticipant(_ sid: String, room name: String, hub: RoomMediaHub) {
        guard var entry = rooms[name] else { return }
        if entry.sessions.remove(sid) != nil, let index = entry.hubs.firstIndex(where: { $0.hub === hub }) {
            entry.hubs[index].members -= 1
            // A worker the room no longer has members on stops receiving its tracks (the home
            // hub stays while the room is open).
            if index > 0, entry.hubs[index].members == 0 {
                entry.hubs.remove(at: index)
                entry.span.remove(hub)
                logger.info("room left a worker", metadata: ["room": "\(name)", "worker": "\(hub.worker.name)"])
            }
        }
        rooms[name] = entry
        closeIfEmpty(name)
    }

    /// A room nobody holds any more: its relays between workers end with it.
    private func closeIfEmpty(_ name: String) {
        guard let entry = rooms[name], entry.sessions.isEmpty else { return }
        rooms[name] = nil
        entry.span.close()
    }

    private func forget(_ session: MediaSession) {
        guard sessions.removeValue(forKey: session.id) != nil else { return }
        if rooms[session.roomName]?.sessions.remove(session.id) != nil {
            rooms[session.roomName]?.hubs[0].members -= 1
        }
        closeIfEmpty(session.roomName)
        logger.info("media session closed", metadata: ["session": "\(session.id)", "room": "\(session.roomName)"])
        if established.remove(session.id) != nil {
            for observer in leaveObservers { observer(session) }
        }
    }

    private func roomEntry(_ name: String) -> RoomEntry {
        if let entry = rooms[name] { return entry }
        let worker = workers[nextWorker % workers.count]
        nextWorker += 1
        let room = SFU.Room(name: name, executor: worker)
        let hub = RoomMediaHub(room: room, worker: worker)
        let span = RoomSpan(roomName: name, logger: logger)
        span.add(hub)
        let entry = RoomEntry(hubs: [(hub, 0)], span: span)
        rooms[name] = entry
        return entry
    }
}
