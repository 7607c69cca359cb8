import Foundation
import GRDB

/// Sluice's persistent state in one SQLite file (WAL mode).
///
/// GRDB's `DatabasePool` gives one serialized writer and concurrent readers; every call here is
/// `async`, so the control plane awaits the database and no media thread ever touches it.
public final class SluiceStore: Sendable {
    private let pool: DatabasePool
    public let path: String

    /// Opens (creating if needed) the database at `path` and migrates it.
    ///
    /// Throws `StoreOpenError`: one line naming the path and what is wrong with it (locked by
    /// another process, read-only, not a database...), for the server to print before it exits.
    public init(path: String) throws(StoreOpenError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw StoreOpenError(path: path, reason: StoreOpenError.directoryReason(directory, error))
            }
        }
        var config = Configuration()
        config.busyMode = .timeout(5)
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Migrations.migrator.migrate(pool)
        } catch {
            throw StoreOpenError(path: path, reason: StoreOpenError.reason(of: error, path: path))
        }
        self.path = path
    }

    /// SQLite's journal mode ("wal" once opened by this store); for diagnostics and tests.
    public func journalMode() async throws -> String {
        try await pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    // MARK: Rooms

    public func insertRoom(_ room: RoomRecord) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO room (sid, name, metadata, empty_timeout, departure_timeout, max_participants,
                                  created_at_ms, closed_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [room.sid, room.name, room.metadata, Int64(room.emptyTimeout),
                                 Int64(room.departureTimeout), Int64(room.maxParticipants),
                                 room.createdAtMs, room.closedAtMs])
        }
    }

    /// Opens a room unless one of that name is already open, and returns the open room as stored:
    /// `room` itself, or the one that was there first. Two servers' or two requests' concurrent
    /// creations of the same name converge on one row instead of one failing on the unique index
    /// (issue #20: first joins into a new room raced and were refused).
    public func openRoom(_ room: RoomRecord) async throws -> RoomRecord {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO room (sid, name, metadata, empty_timeout, departure_timeout, max_participants,
                                  created_at_ms, closed_at_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
                ON CONFLICT(name) WHERE closed_at_ms IS NULL DO NOTHING
                """, arguments: [room.sid, room.name, room.metadata, Int64(room.emptyTimeout),
                                 Int64(room.departureTimeout), Int64(room.maxParticipants), room.createdAtMs])
            // Same write transaction: nothing can close or replace the row in between.
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM room WHERE name = ? AND closed_at_ms IS NULL",
                                             arguments: [room.name]) else {
                throw DatabaseError(resultCode: .SQLITE_INTERNAL, message: "room \(room.name) missing after upsert")
            }
            return Self.room(from: row)
        }
    }

    public func updateRoomMetadata(sid: String, metadata: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE room SET metadata = ? WHERE sid = ?", arguments: [metadata, sid])
        }
    }

    public func closeRoom(sid: String, atMs: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE room SET closed_at_ms = ? WHERE sid = ? AND closed_at_ms IS NULL",
                           arguments: [atMs, sid])
            // Anyone still recorded as present left when the room closed.
            try db.execute(sql: """
                UPDATE participant_session SET left_at_ms = ?, disconnect_reason = 'ROOM_CLOSED'
                WHERE room_sid = ? AND left_at_ms IS NULL
                """, arguments: [atMs, sid])
        }
    }

    /// Rooms that were open when the server last stopped, oldest first.
    public func openRooms() async throws -> [RoomRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM room WHERE closed_at_ms IS NULL ORDER BY created_at_ms")
                .map(Self.room(from:))
        }
    }

    public func room(sid: String) async throws -> RoomRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM room WHERE sid = ?", arguments: [sid]).map(Self.room(from:))
        }
    }

    private static func room(from row: Row) -> RoomRecord {
        RoomRecord(
            sid: row["sid"], name: row["name"], metadata: row["metadata"],
            emptyTimeout: UInt32(clamping: row["empty_timeout"] as Int64),
            departureTimeout: UInt32(clamping: row["departure_timeout"] as Int64),
            maxParticipants: UInt32(clamping: row["max_participants"] as Int64),
            createdAtMs: row["created_at_ms"], closedAtMs: row["closed_at_ms"])
    }

    // MARK: Participant history

    public func participantJoined(_ session: ParticipantSessionRecord) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO participant_session
                    (participant_sid, room_sid, room_name, identity, name, joined_at_ms, left_at_ms, disconnect_reason)
                VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)
                """, arguments: [session.participantSid, session.roomSid, session.roomName, session.identity,
                                 session.name, session.joinedAtMs])
        }
    }

    public func participantLeft(participantSid: String, atMs: Int64, reason: String) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                UPDATE participant_session SET left_at_ms = ?, disconnect_reason = ?
                WHERE participant_sid = ? AND left_at_ms IS NULL
                """, arguments: [atMs, reason, participantSid])
        }
    }

    public func participantSessions(roomSid: String) async throws -> [ParticipantSessionRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM participant_session WHERE room_sid = ? ORDER BY joined_at_ms",
                             arguments: [roomSid]).map { row in
                ParticipantSessionRecord(
                    participantSid: row["participant_sid"], roomSid: row["room_sid"], roomName: row["room_name"],
                    identity: row["identity"], name: row["name"], joinedAtMs: row["joined_at_ms"],
                    leftAtMs: row["left_at_ms"], disconnectReason: row["disconnect_reason"])
            }
        }
    }

    // MARK: Egress

    public func upsertEgress(_ egress: EgressRecord) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO egress (egress_id, room_sid, room_name, status, info, updated_at_ms)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(egress_id) DO UPDATE SET status = excluded.status, info = excluded.info,
                    updated_at_ms = excluded.updated_at_ms
                """, arguments: [egress.egressID, egress.roomSid, egress.roomName, egress.status,
                                 Data(egress.info), egress.updatedAtMs])
        }
    }

    /// Egresses filtered by room name and/or id; `statuses` limits to those status numbers.
    public func egresses(roomName: String? = nil, egressID: String? = nil, statuses: Set<Int>? = nil) async throws
        -> [EgressRecord]
    {
        try await pool.read { db in
            var sql = "SELECT * FROM egress WHERE 1 = 1"
            var args: [any DatabaseValueConvertible] = []
            if let roomName { sql += " AND room_name = ?"; args.append(roomName) }
            if let egressID { sql += " AND egress_id = ?"; args.append(egressID) }
            sql += " ORDER BY updated_at_ms"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).compactMap { row in
                let status: Int = row["status"]
                if let statuses, !statuses.contains(status) { return nil }
                let info: Data = row["info"]
                return EgressRecord(egressID: row["egress_id"], roomSid: row["room_sid"], roomName: row["room_name"],
                                    status: status, info: Array(info), updatedAtMs: row["updated_at_ms"])
            }
        }
    }
}
