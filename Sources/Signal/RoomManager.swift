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
    private var nextOrder = 0
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

    private func emit(_ event: RoomEvent) {
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
    public func createRoom(name: String, emptyTimeout: UInt32 = 0, departureTimeout: UInt32 = 0,
                           maxParticipants: UInt32 = 0, metadata: String = "") async throws(RoomError) -> RoomSnapshot {
        try Self.validate(name: name)
        if let existing = rooms[name] { return snapshot(existing) }
        let record = RoomRecord(
            sid: SessionID.room(), name: name, metadata: metadata,
            emptyTimeout: emptyTimeout == 0 ? defaults.emptyTimeout : emptyTimeout,
            departureTimeout: departureTimeout == 0 ? defaults.departureTimeout : departureTimeout,
            maxParticipants: maxParticipants == 0 ? defaults.maxParticipants : maxParticipants,
            createdAtMs: nowMs())
        do {
            try await store.insertRoom(record)
        } catch {
            throw .storage("\(error)")
        }
        // Another request may have created the same room while we awaited the store.
        if let existing = rooms[name] {
            try? await store.closeRoom(sid: record.sid, atMs: nowMs())
            return snapshot(existing)
        }
        nextOrder += 1
        let room = OpenRoom(record: record, emptySinceMs: record.createdAtMs, order: nextOrder)
        rooms[name] = room
        logger.info("room created", metadata: ["room": "\(name)", "sid": "\(record.sid)"])
        emit(.started(snapshot(room)))
        return snapshot(room)
    }

    /// Open rooms, all of them or those named (unknown names are skipped, as LiveKit does).
    public func listRooms(names: [String] = []) -> [RoomSnapshot] {
        let selected = names.isEmpty ? Array(rooms.values) : names.compactMap { rooms[$0] }
        return selected.sorted { $0.order < $1.order }.map(snapshot)
    }

    public func room(named name: String) -> RoomSnapshot? {
        rooms[name].map(snapshot)
    }

    public func deleteRoom(name: String) async throws(RoomError) {
        guard let room = rooms[name] else { throw .notFound(name) }
        try await close(room, reason: .roomDeleted, why: "deleted")
    }

    public func updateMetadata(name: String, metadata: String) async throws(RoomError) -> RoomSnapshot {
        guard var room = rooms[name] else { throw .notFound(name) }
        do {
            try await store.updateRoomMetadata(sid: room.record.sid, metadata: metadata)
        } catch {
            throw .storage("\(error)")
        }
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
            if now - since >= Int64(timeout) * 1000 {
                do {
                    try await close(room, reason: .roomClosed, why: "empty for \(timeout) s")
                    closed.append(room.record.name)
                } catch {
                    logger.error("closing idle room failed", metadata: ["room": "\(room.record.name)", "error": "\(error)"])
                }
            }
        }
        return closed
    }

    private func close(_ room: OpenRoom, reason: Livekit_DisconnectReason, why: String) async throws(RoomError) {
        do {
            try await store.closeRoom(sid: room.record.sid, atMs: nowMs())
        } catch {
            throw .storage("\(error)")
        }
        rooms[room.record.name] = nil
        for member in room.members.values {
            member.sink.send(Self.leave(reason))
            member.sink.close()
        }
        emit(.finished(snapshot(room)))
        logger.info("room closed", metadata: ["room": "\(room.record.name)", "reason": "\(why)"])
    }

    // MARK: Participants

    /// Adds a participant, creating the room if allowed. A participant already in the room with
    /// the same identity is disconnected first (LiveKit's DUPLICATE_IDENTITY).
    public func join(roomName: String, _ params: JoinParameters, sink: any SignalSink) async throws(JoinError) -> JoinOutcome {
        if rooms[roomName] == nil {
            guard defaults.autoCreate else { throw .roomNotFound(roomName) }
            do {
                _ = try await createRoom(name: roomName)
            } catch {
                switch error {
                case .invalidName(let why): throw .invalidRoomName(why)
                case .notFound, .participantNotFound, .trackNotFound: throw .roomNotFound(roomName)
                case .storage(let why): throw .storage(why)
                }
            }
        }
        guard var room = rooms[roomName] else { throw .roomNotFound(roomName) }

        if let previous = room.member(identity: params.identity) {
            previous.sink.send(Self.leave(.duplicateIdentity))
            previous.sink.close()
            room = removeMember(previous.info.sid, from: room, reason: .duplicateIdentity)
        }
        let hidden = params.grant.isHidden
        if room.record.maxParticipants > 0, !hidden, room.visible.count >= Int(room.record.maxParticipants) {
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

        if !hidden { broadcast(in: room, [info], except: info.sid) }
        let session = ParticipantSessionRecord(participantSid: info.sid, roomSid: room.record.sid, roomName: roomName,
                                               identity: info.identity, name: info.name, joinedAtMs: now)
        do {
            try await store.participantJoined(session)
        } catch {
            logger.error("recording participant session failed", metadata: ["error": "\(error)"])
        }
        logger.info("participant joined", metadata: ["room": "\(roomName)", "identity": "\(info.identity)",
                                                     "sid": "\(info.sid)", "hidden": "\(hidden)"])
        if !hidden { emit(.participantJoined(snapshot(room), info)) }
        return JoinOutcome(room: snapshot(room).proto, participant: info, otherParticipants: others)
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
