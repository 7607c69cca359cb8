import Foundation
import LiveKitProto
import Logging
import SFU
import Store

/// Owns the set of open rooms and who is in them: creation, lookup, metadata, joins and leaves,
/// participant updates broadcast to the others, and closing rooms left empty.
///
/// Every room change is written to the store before it is acknowledged, so rooms made through
/// the API survive a crash. Media never goes through here; this is control plane only.
public actor RoomManager {
    struct Member {
        var info: Livekit_ParticipantInfo
        var sink: any SignalSink
        /// Told when the API changes the participant's permission (its session applies it).
        var onPermissionChange: (@Sendable (Livekit_ParticipantPermission) async -> Void)?
        /// A participant of another node (an edge room's copy of its origin's members): shown
        /// to this node's members, never stored, announced to webhooks or shared as this node's.
        var remote = false
        var hidden: Bool { info.permission.hidden }
    }

    private struct OpenRoom {
        var record: RoomRecord
        var members: [String: Member] = [:]  // by participant sid
        var activeRecording = false
        /// When the room last became empty (or was created), in ms; nil while someone is in it.
        var emptySinceMs: Int64?
        /// Whether anyone has ever joined: decides between empty_timeout and departure_timeout.
        var hadParticipants = false
        /// Creation order, so listings are stable even for rooms made in the same millisecond.
        var order = 0
        /// ParticipantInfo.version source: increases with every change in this room.
        var version: UInt32 = 0

        var visible: [Member] { members.values.filter { !$0.hidden }.sorted { $0.info.joinedAtMs < $1.info.joinedAtMs } }
        func member(identity: String) -> Member? { members.values.first { $0.info.identity == identity } }
    }

    private let store: SluiceStore
    private let defaults: RoomDefaults
    private let nowMs: @Sendable () -> Int64
    private let logger: Logger
    private var rooms: [String: OpenRoom] = [:]
    /// Creations in flight, by name: a second create or first join of the same name awaits the
    /// first one's store write instead of racing it (the actor is re-entered at every await).
    private var creating: [String: Task<Result<RoomRecord, RoomError>, Never>] = [:]
    /// Closes in flight, by name: a new room of that name is stored only after the old row closed.
    private var closing: [String: Task<Result<Void, RoomError>, Never>] = [:]
    private var nextOrder = 0
    /// Called at each point where admission suspends; tests hold a caller there to force an
    /// interleaving. Nil in production.
    private var admissionHook: (@Sendable (AdmissionPoint) async -> Void)?
    private var observers: [@Sendable (RoomEvent) -> Void] = []

    public init(store: SluiceStore, defaults: RoomDefaults, logger: Logger,
                nowMs: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.store = store
        self.defaults = defaults
        self.logger = logger
        self.nowMs = nowMs
    }

    /// Adds a listener for room lifecycle events (webhooks, metrics). Called on the actor; keep it cheap.
    public func observe(_ observer: @escaping @Sendable (RoomEvent) -> Void) {
        observers.append(observer)
    }

    /// Where admission can be suspended, for `setAdmissionHook`.
    public enum AdmissionPoint: Sendable, Equatable {
        /// About to write a new room to the store.
        case storingRoom(String)
        /// Waiting for another request's creation of the same room.
        case awaitingRoom(String)
        /// A participant is admitted and announced; its session record is about to be written.
        case recordingParticipant(room: String, identity: String)
    }

    /// Installs a hook run at each `AdmissionPoint` (tests only).
    public func setAdmissionHook(_ hook: (@Sendable (AdmissionPoint) async -> Void)?) {
        admissionHook = hook
    }

    /// Rooms open here as edge copies of a room that lives on another node: their start and
    /// end are the origin's to announce (webhooks), not this node's.
    private var edgeRooms: Set<String> = []

    public func markEdge(_ name: String, _ isEdge: Bool) {
        if isEdge { edgeRooms.insert(name) } else { edgeRooms.remove(name) }
    }

    private func emit(_ event: RoomEvent) {
        switch event {
        case .started(let room), .finished(let room):
            if edgeRooms.contains(room.name) { return }
        default: break
        }
        for observer in observers { observer(event) }
    }

    /// Loads rooms that were open when the server last stopped.
    public func restore() async throws {
        for record in try await store.openRooms() {
            nextOrder += 1
            rooms[record.name] = OpenRoom(record: record, emptySinceMs: record.createdAtMs, order: nextOrder)
        }
        if !rooms.isEmpty { logger.info("restored open rooms", metadata: ["count": "\(rooms.count)"]) }
    }

    // MARK: Rooms

    /// Creates a room, or returns the existing open room of that name unchanged (as LiveKit does).
    /// Concurrent calls for one name (API or first joins) all return the same room.
    public func createRoom(name: String, emptyTimeout: UInt32 = 0, departureTimeout: UInt32 = 0,
                           maxParticipants: UInt32 = 0, metadata: String = "") async throws(RoomError) -> RoomSnapshot {
        try Self.validate(name: name)
        return snapshot(try await openRoom(name: name, emptyTimeout: emptyTimeout, departureTimeout: departureTimeout,
                                           maxParticipants: maxParticipants, metadata: metadata))
    }

    private func openRoom(name: String, emptyTimeout: UInt32 = 0, departureTimeout: UInt32 = 0,
                          maxParticipants: UInt32 = 0, metadata: String = "") async throws(RoomError) -> OpenRoom {
        // Each pass either returns or waits for a close or creation that someone else started;
        // a few passes cover a room closed and re-created while we waited.
        for _ in 0..<8 {
            if let existing = rooms[name] { return existing }
            if let pending = creating[name] {
                await admissionHook?(.awaitingRoom(name))
                let result = await pending.value
                if creating[name] == pending { creating[name] = nil }
                return try install(result.get())
            }
            if let closure = closing[name] {
                _ = await closure.value
                continue
            }
            let record = RoomRecord(
                sid: SessionID.room(), name: name, metadata: metadata,
                emptyTimeout: emptyTimeout == 0 ? defaults.emptyTimeout : emptyTimeout,
                departureTimeout: departureTimeout == 0 ? defaults.departureTimeout : departureTimeout,
                maxParticipants: maxParticipants == 0 ? defaults.maxParticipants : maxParticipants,
                createdAtMs: nowMs())
            let store = self.store, hook = admissionHook, logger = self.logger
            let task = Task<Result<RoomRecord, RoomError>, Never> {
                await hook?(.storingRoom(name))
                do {
                    // Returns the row already open under this name if there is one (another
                    // server process on the same file, or a row whose close failed).
                    return .success(try await store.openRoom(record))
                } catch {
                    logger.error("storing room failed", metadata: ["room": "\(name)", "error": "\(error)"])
                    return .failure(.storage("\(error)"))
                }
            }
            creating[name] = task
            let result = await task.value
            if creating[name] == task { creating[name] = nil }
            return try install(result.get())
        }
        logger.error("room kept closing while being opened", metadata: ["room": "\(name)"])
        throw .storage("room \(name) kept closing while being opened")
    }

    /// Makes a stored room open in memory, once: whoever gets here first installs it, the
    /// others find it.
    private func install(_ record: RoomRecord) -> OpenRoom {
        if let existing = rooms[record.name] { return existing }
        nextOrder += 1
        let room = OpenRoom(record: record, emptySinceMs: nowMs(), order: nextOrder)
        rooms[record.name] = room
        logger.info("room created", metadata: ["room": "\(record.name)", "sid": "\(record.sid)"])
        emit(.started(snapshot(room)))
        return room
    }

    /// Open rooms, all of them or those named (unknown names are skipped, as LiveKit does).
    public func listRooms(names: [String] = []) -> [RoomSnapshot] {
        let selected = names.isEmpty ? Array(rooms.values) : names.compactMap { rooms[$0] }
        return selected.sorted { $0.order < $1.order }.map(snapshot)
    }

    /// Who is in the open rooms, for metrics: rooms, members (hidden ones included) and how
    /// many of them are hidden. One actor turn; no copy of any participant.
    // MARK: Edge rooms (a cluster's copy of a room that lives on another node)

    /// Makes `infos` the room's remote participants (another node's members, seen here by this
    /// node's members): new ones and changed ones are announced, ones no longer listed leave.
    /// The room's own members are never touched, and a remote participant whose identity a
    /// local member has is left out.
    public func setRemoteParticipants(roomName: String, _ infos: [Livekit_ParticipantInfo]) {
        guard var room = rooms[roomName] else { return }
        let localIdentities = Set(room.members.values.filter { !$0.remote }.map(\.info.identity))
        let listed = infos.filter { !localIdentities.contains($0.identity) && !$0.permission.hidden }
        var changed: [Livekit_ParticipantInfo] = []
        let keep = Set(listed.map(\.sid))
        for (sid, member) in room.members where member.remote && !keep.contains(sid) {
            room.members[sid] = nil
            room.version += 1
            var gone = member.info
            gone.state = .disconnected
            gone.version = room.version
            changed.append(gone)
        }
        for info in listed {
            if let existing = room.members[info.sid] {
                guard existing.remote else { continue }
                var compared = info
                compared.version = existing.info.version
                if compared == existing.info { continue }
            }
            room.version += 1
            var copy = info
            copy.version = room.version
            room.members[info.sid] = Member(info: copy, sink: DiscardingSignalSink(), remote: true)
            changed.append(copy)
        }
        rooms[roomName] = room
        guard !changed.isEmpty else { return }
        let message = Self.update(changed)
        for member in room.members.values where !member.remote { member.sink.send(message) }
    }

    /// The room's own (not remote) visible participants, in join order.
    public func localParticipants(roomName: String) throws(RoomError) -> [Livekit_ParticipantInfo] {
        guard let room = rooms[roomName] else { throw .notFound(roomName) }
        return room.visible.filter { !$0.remote }.map(\.info)
    }

    public func census() -> (rooms: Int, participants: Int, hidden: Int) {
        var participants = 0, hidden = 0
        for room in rooms.values {
            participants += room.members.values.filter { !$0.remote }.count
            for member in room.members.values where member.hidden && !member.remote { hidden += 1 }
        }
        return (rooms.count, participants, hidden)
    }

    public func room(named name: String) -> RoomSnapshot? {
        rooms[name].map(snapshot)
    }

    public func deleteRoom(name: String) async throws(RoomError) {
        guard rooms[name] != nil else { throw .notFound(name) }
        try await close(name, reason: .roomDeleted, why: "deleted")
    }

    public func updateMetadata(name: String, metadata: String) async throws(RoomError) -> RoomSnapshot {
        guard let before = rooms[name] else { throw .notFound(name) }
        do {
            try await store.updateRoomMetadata(sid: before.record.sid, metadata: metadata)
        } catch {
            logger.error("storing room metadata failed", metadata: ["room": "\(name)", "error": "\(error)"])
            throw .storage("\(error)")
        }
        // Re-read after the await: joins and leaves meanwhile must not be overwritten by a stale copy.
        guard var room = rooms[name], room.record.sid == before.record.sid else { throw .notFound(name) }
        room.record.metadata = metadata
        rooms[name] = room
        var update = Livekit_SignalResponse()
        update.roomUpdate = Livekit_RoomUpdate.with { $0.room = snapshot(room).proto }
        for member in room.members.values { member.sink.send(update) }
        return snapshot(room)
    }

    /// Closes every room that has been empty for longer than its timeout. Returns the closed names.
    @discardableResult
    public func closeIdleRooms() async -> [String] {
        let now = nowMs()
        var closed: [String] = []
        for room in rooms.values {
            guard let since = room.emptySinceMs else { continue }
            let timeout = room.hadParticipants ? room.record.departureTimeout : room.record.emptyTimeout
            // An earlier close in this loop awaited the store: the room may have changed since.
            guard rooms[room.record.name]?.record.sid == room.record.sid,
                  rooms[room.record.name]?.members.isEmpty == true else { continue }
            if now - since >= Int64(timeout) * 1000 {
                do {
                    try await close(room.record.name, reason: .roomClosed, why: "empty for \(timeout) s")
                    closed.append(room.record.name)
                } catch {
                    logger.error("closing idle room failed", metadata: ["room": "\(room.record.name)", "error": "\(error)"])
                }
            }
        }
        return closed
    }

    /// Closes every open room, telling its members `reason` (a shutdown: LiveKit's SERVER_SHUTDOWN).
    public func closeAll(reason: Livekit_DisconnectReason) async {
        for name in Array(rooms.keys) {
            try? await close(name, reason: reason, why: "server shutdown")
        }
    }

    /// Closes a room: it leaves memory at once (so nobody joins a closing room unannounced), its
    /// members are told, then the store is written. A new room of the same name waits for that write.
    private func close(_ name: String, reason: Livekit_DisconnectReason, why: String) async throws(RoomError) {
        guard let room = rooms.removeValue(forKey: name) else { return }
        for member in room.members.values {
            member.sink.send(Self.leave(reason))
            member.sink.close()
        }
        emit(.finished(snapshot(room)))
        logger.info("room closed", metadata: ["room": "\(name)", "reason": "\(why)"])
        let store = self.store, at = nowMs(), sid = room.record.sid, logger = self.logger
        let task = Task<Result<Void, RoomError>, Never> {
            do {
                try await store.closeRoom(sid: sid, atMs: at)
                return .success(())
            } catch {
                logger.error("storing room close failed", metadata: ["room": "\(name)", "error": "\(error)"])
                return .failure(.storage("\(error)"))
            }
        }
        closing[name] = task
        let result = await task.value
        if closing[name] == task { closing[name] = nil }
        try result.get()
    }

    // MARK: Participants

    /// Adds a participant, creating the room if allowed. A participant already in the room with
    /// the same identity is disconnected first (LiveKit's DUPLICATE_IDENTITY).
    ///
    /// `first` builds the participant's first message (its JoinResponse) from the outcome; it is
    /// sent through `sink` in the same actor turn that admits the participant, before anyone else
    /// can send to that sink. So the first message is always the join, and every other participant
    /// is seen exactly once: in `other_participants` if admitted before, in an update if after.
    public func join(roomName: String, _ params: JoinParameters, sink: any SignalSink,
                     first: (@Sendable (JoinOutcome) -> Livekit_SignalResponse)? = nil) async throws(JoinError) -> JoinOutcome {
        if rooms[roomName] == nil {
            guard defaults.autoCreate else { throw .roomNotFound(roomName) }
            do {
                try Self.validate(name: roomName)
                _ = try await openRoom(name: roomName)
            } catch {
                switch error {
                case .invalidName(let why): throw .invalidRoomName(why)
                case .notFound, .participantNotFound, .trackNotFound: throw .roomNotFound(roomName)
                case .storage(let why): throw .storage(why)
                }
            }
        }
        // From here to the first message nothing awaits: one actor turn admits the participant.
        guard var room = rooms[roomName] else { throw .roomNotFound(roomName) }

        if let previous = room.member(identity: params.identity), previous.remote {
            // Another node's copy of this identity (it moved here, say after its node died):
            // the copy goes quietly; the events of that session are its own node's.
            room.members[previous.info.sid] = nil
            room.version += 1
            var gone = previous.info
            gone.state = .disconnected
            gone.version = room.version
            broadcast(in: room, [gone], except: nil)
        } else if let previous = room.member(identity: params.identity) {
            previous.sink.send(Self.leave(.duplicateIdentity))
            previous.sink.close()
            room = removeMember(previous.info.sid, from: room, reason: .duplicateIdentity)
        }
        let hidden = params.grant.isHidden
        if room.record.maxParticipants > 0, !hidden, room.visible.count >= Int(room.record.maxParticipants) {
            rooms[roomName] = room
            throw .roomFull(roomName)
        }
        let now = nowMs()
        room.version += 1
        var info = Livekit_ParticipantInfo()
        info.sid = SessionID.participant()
        info.identity = params.identity
        info.name = params.name
        info.metadata = params.metadata
        info.attributes = params.attributes
        info.state = .joined
        info.joinedAt = now / 1000
        info.joinedAtMs = now
        info.version = room.version
        info.permission = params.permission
        info.kind = params.kind

        let others = room.visible.map(\.info)
        room.members[info.sid] = Member(info: info, sink: sink)
        room.emptySinceMs = nil
        room.hadParticipants = true
        rooms[roomName] = room
        let outcome = JoinOutcome(room: snapshot(room).proto, participant: info, otherParticipants: others)
        if let first { sink.send(first(outcome)) }
        if !hidden {
            broadcast(in: room, [info], except: info.sid)
            // In the same turn as the announcement, so a quick leave cannot be reported before it.
            emit(.participantJoined(snapshot(room), info))
        }

        await admissionHook?(.recordingParticipant(room: roomName, identity: info.identity))
        let session = ParticipantSessionRecord(participantSid: info.sid, roomSid: room.record.sid, roomName: roomName,
                                               identity: info.identity, name: info.name, joinedAtMs: now)
        do {
            try await store.participantJoined(session)
        } catch {
            logger.error("recording participant session failed", metadata: ["error": "\(error)"])
        }
        logger.info("participant joined", metadata: ["room": "\(roomName)", "identity": "\(info.identity)",
                                                     "sid": "\(info.sid)", "hidden": "\(hidden)"])
        return outcome
    }

    /// Checks, before any connection is upgraded, that `identity` could join `roomName` now.
    public func checkAdmission(roomName: String, identity: String, hidden: Bool) throws(JoinError) {
        guard let room = rooms[roomName] else {
            if defaults.autoCreate { return }
            throw .roomNotFound(roomName)
        }
        let replacing = room.member(identity: identity) != nil
        if room.record.maxParticipants > 0, !hidden, !replacing, room.visible.count >= Int(room.record.maxParticipants) {
            throw .roomFull(roomName)
        }
    }

    /// Removes a participant that left (or whose connection ended). Safe to call twice.
    public func leave(roomName: String, participantSid: String, reason: Livekit_DisconnectReason) async {
        guard let room = rooms[roomName], room.members[participantSid] != nil else { return }
        rooms[roomName] = removeMember(participantSid, from: room, reason: reason)
    }

    /// Marks a participant ACTIVE (its transport connected) and tells the others.
    public func markActive(roomName: String, participantSid: String) {
        guard var room = rooms[roomName], var member = room.members[participantSid], member.info.state != .active
        else { return }
        room.version += 1
        member.info.state = .active
        member.info.version = room.version
        room.members[participantSid] = member
        rooms[roomName] = room
        if !member.hidden { broadcast(in: room, [member.info], except: participantSid) }
    }

    private func removeMember(_ sid: String, from room: OpenRoom, reason: Livekit_DisconnectReason) -> OpenRoom {
        var room = room
        guard var member = room.members.removeValue(forKey: sid) else { return room }
        room.version += 1
        member.info.state = .disconnected
        member.info.version = room.version
        member.info.disconnectReason = reason
        if room.members.isEmpty { room.emptySinceMs = nowMs() }
        if !member.hidden {
            broadcast(in: room, [member.info], except: sid)
            // LiveKit reports a leaver's tracks as unpublished before the participant itself.
            for track in member.info.tracks { emit(.trackUnpublished(snapshot(room), member.info, track)) }
            emit(.participantLeft(snapshot(room), member.info))
        }
        let store = self.store, at = nowMs(), logger = self.logger
        Task {
            do {
                try await store.participantLeft(participantSid: sid, atMs: at, reason: "\(reason)")
            } catch {
                logger.error("recording participant leave failed", metadata: ["error": "\(error)"])
            }
        }
        logger.info("participant left", metadata: ["room": "\(room.record.name)", "identity": "\(member.info.identity)",
                                                   "reason": "\(reason)"])
        return room
    }

    /// Replaces a participant's published tracks (after negotiation, mute, unpublish) and tells
    /// the others. Returns the new ParticipantInfo.
    @discardableResult
    public func setTracks(roomName: String, participantSid: String, _ tracks: [Livekit_TrackInfo]) -> Livekit_ParticipantInfo? {
        guard var room = rooms[roomName], var member = room.members[participantSid] else { return nil }
        let before = member.info.tracks
        room.version += 1
        member.info.tracks = tracks
        member.info.isPublisher = !tracks.isEmpty
        member.info.version = room.version
        room.members[participantSid] = member
        rooms[roomName] = room
        if !member.hidden {
            broadcast(in: room, [member.info], except: nil)
            let now = Set(tracks.map(\.sid)), earlier = Set(before.map(\.sid))
            for track in before where !now.contains(track.sid) { emit(.trackUnpublished(snapshot(room), member.info, track)) }
            for track in tracks where !earlier.contains(track.sid) { emit(.trackPublished(snapshot(room), member.info, track)) }
        }
        return member.info
    }

    /// Mutes or unmutes a published track on the API's request: the publisher is told to mute
    /// (its client then stops sending), everyone sees the new state.
    public func mutePublishedTrack(roomName: String, identity: String, trackSid: String, muted: Bool)
        throws(RoomError) -> Livekit_TrackInfo {
        guard var room = rooms[roomName] else { throw .notFound(roomName) }
        guard var member = room.member(identity: identity) else { throw .participantNotFound(identity) }
        guard let index = member.info.tracks.firstIndex(where: { $0.sid == trackSid }) else {
            throw .trackNotFound(trackSid)
        }
        member.info.tracks[index].muted = muted
        room.version += 1
        member.info.version = room.version
        room.members[member.info.sid] = member
        rooms[roomName] = room
        var mute = Livekit_SignalResponse()
        mute.mute = Livekit_MuteTrackRequest.with {
            $0.sid = trackSid
            $0.muted = muted
        }
        member.sink.send(mute)
        if !member.hidden { broadcast(in: room, [member.info], except: member.info.sid) }
        return member.info.tracks[index]
    }

    /// Registers what applies a new permission to a live session (UpdateParticipant).
    public func onPermissionChange(roomName: String, participantSid: String,
                                   _ apply: @escaping @Sendable (Livekit_ParticipantPermission) async -> Void) {
        rooms[roomName]?.members[participantSid]?.onPermissionChange = apply
    }


    /// Visible participants of a room, in join order.
    public func participants(roomName: String) throws(RoomError) -> [Livekit_ParticipantInfo] {
        guard let room = rooms[roomName] else { throw .notFound(roomName) }
        return room.visible.map(\.info)
    }

    public func participant(roomName: String, identity: String) throws(RoomError) -> Livekit_ParticipantInfo {
        guard let room = rooms[roomName] else { throw .notFound(roomName) }
        guard let member = room.member(identity: identity) else { throw .participantNotFound(identity) }
        return member.info
    }

    /// Disconnects a participant on the API's request.
    public func removeParticipant(roomName: String, identity: String) throws(RoomError) {
        guard let room = rooms[roomName] else { throw .notFound(roomName) }
        guard let member = room.member(identity: identity) else { throw .participantNotFound(identity) }
        member.sink.send(Self.leave(.participantRemoved))
        member.sink.close()
        rooms[roomName] = removeMember(member.info.sid, from: room, reason: .participantRemoved)
    }

    /// Changes a participant's name, metadata, attributes or permission and tells everyone,
    /// the participant included. `attributes` are merged; an empty value deletes a key (LiveKit).
    public func updateParticipant(roomName: String, identity: String? = nil, sid: String? = nil,
                                  name: String? = nil, metadata: String? = nil, attributes: [String: String] = [:],
                                  permission: Livekit_ParticipantPermission? = nil) throws(RoomError) -> Livekit_ParticipantInfo {
        guard var room = rooms[roomName] else { throw .notFound(roomName) }
        let found = sid.flatMap { room.members[$0] } ?? identity.flatMap { room.member(identity: $0) }
        guard var member = found else { throw .participantNotFound(identity ?? sid ?? "") }
        if let name { member.info.name = name }
        if let metadata { member.info.metadata = metadata }
        for (key, value) in attributes {
            if value.isEmpty { member.info.attributes[key] = nil } else { member.info.attributes[key] = value }
        }
        if let permission {
            member.info.permission = permission
            if let apply = member.onPermissionChange { Task { await apply(permission) } }
        }
        room.version += 1
        member.info.version = room.version
        room.members[member.info.sid] = member
        rooms[roomName] = room
        if member.hidden {
            member.sink.send(Self.update([member.info]))
        } else {
            broadcast(in: room, [member.info], except: nil)
        }
        return member.info
    }

    /// Sends a ParticipantUpdate about `infos` to every member except `except`.
    private func broadcast(in room: OpenRoom, _ infos: [Livekit_ParticipantInfo], except: String?) {
        let message = Self.update(infos)
        for member in room.members.values where member.info.sid != except {
            member.sink.send(message)
        }
    }

    static func update(_ infos: [Livekit_ParticipantInfo]) -> Livekit_SignalResponse {
        var message = Livekit_SignalResponse()
        message.update = Livekit_ParticipantUpdate.with { $0.participants = infos }
        return message
    }

    static func leave(_ reason: Livekit_DisconnectReason) -> Livekit_SignalResponse {
        var message = Livekit_SignalResponse()
        message.leave = Livekit_LeaveRequest.with {
            $0.canReconnect = false
            $0.reason = reason
            $0.action = .disconnect
        }
        return message
    }

    private func snapshot(_ room: OpenRoom) -> RoomSnapshot {
        let visible = room.visible
        return RoomSnapshot(
            sid: room.record.sid, name: room.record.name, metadata: room.record.metadata,
            emptyTimeout: room.record.emptyTimeout, departureTimeout: room.record.departureTimeout,
            maxParticipants: room.record.maxParticipants, createdAtMs: room.record.createdAtMs,
            numParticipants: UInt32(visible.count),
            numPublishers: UInt32(visible.filter { !$0.info.tracks.isEmpty }.count),
            activeRecording: room.activeRecording)
    }

    static func validate(name: String) throws(RoomError) {
        if name.isEmpty { throw .invalidName("room name must not be empty") }
        if name.utf8.count > 256 { throw .invalidName("room name is longer than 256 bytes") }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw .invalidName("room name must not contain control characters")
        }
    }
}
