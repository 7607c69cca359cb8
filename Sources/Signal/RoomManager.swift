import Foundation
import Logging
import SFU
import Store

/// Owns the set of open rooms: creation, lookup, metadata, closing, and closing rooms left empty.
///
/// Every change is written to the store before it is acknowledged, so rooms made through the API
/// survive a crash. Media never goes through here; this is control plane only.
public actor RoomManager {
    private struct OpenRoom {
        var record: RoomRecord
        var participantCount: UInt32 = 0
        var publisherCount: UInt32 = 0
        var activeRecording = false
        /// When the room last became empty (or was created), in ms; nil while someone is in it.
        var emptySinceMs: Int64?
        /// Whether anyone has ever joined: decides between empty_timeout and departure_timeout.
        var hadParticipants = false
        /// Creation order, so listings are stable even for rooms made in the same millisecond.
        var order = 0
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
        try await close(room, reason: "deleted")
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
        return snapshot(room)
    }

    /// A media-only participant (WHIP/WHEP session) joined `room`: counted like a participant.
    public func mediaParticipantJoined(room name: String, publisher: Bool) {
        guard var room = rooms[name] else { return }
        room.participantCount += 1
        if publisher { room.publisherCount += 1 }
        room.hadParticipants = true
        room.emptySinceMs = nil
        rooms[name] = room
    }

    /// The counterpart of `mediaParticipantJoined`.
    public func mediaParticipantLeft(room name: String, publisher: Bool) {
        guard var room = rooms[name] else { return }
        room.participantCount = room.participantCount > 0 ? room.participantCount - 1 : 0
        if publisher, room.publisherCount > 0 { room.publisherCount -= 1 }
        if room.participantCount == 0 { room.emptySinceMs = nowMs() }
        rooms[name] = room
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
                    try await close(room, reason: "empty for \(timeout) s")
                    closed.append(room.record.name)
                } catch {
                    logger.error("closing idle room failed", metadata: ["room": "\(room.record.name)", "error": "\(error)"])
                }
            }
        }
        return closed
    }

    private func close(_ room: OpenRoom, reason: String) async throws(RoomError) {
        do {
            try await store.closeRoom(sid: room.record.sid, atMs: nowMs())
        } catch {
            throw .storage("\(error)")
        }
        rooms[room.record.name] = nil
        emit(.finished(snapshot(room)))
        logger.info("room closed", metadata: ["room": "\(room.record.name)", "reason": "\(reason)"])
    }

    private func snapshot(_ room: OpenRoom) -> RoomSnapshot {
        RoomSnapshot(
            sid: room.record.sid, name: room.record.name, metadata: room.record.metadata,
            emptyTimeout: room.record.emptyTimeout, departureTimeout: room.record.departureTimeout,
            maxParticipants: room.record.maxParticipants, createdAtMs: room.record.createdAtMs,
            numParticipants: room.participantCount, numPublishers: room.publisherCount,
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
