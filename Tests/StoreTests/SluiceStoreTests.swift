import Foundation
import Testing
@testable import Store

@Suite struct SluiceStoreTests {
    func tempPath() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-store-\(UUID().uuidString)")
        return dir.appendingPathComponent("nested/db.sqlite").path
    }

    @Test func roomsPersistAcrossReopen() async throws {
        let path = tempPath()
        do {
            let store = try SluiceStore(path: path)
            try await store.insertRoom(RoomRecord(sid: "RM_a", name: "a", emptyTimeout: 300, departureTimeout: 20,
                                                  maxParticipants: 0, createdAtMs: 1))
            try await store.insertRoom(RoomRecord(sid: "RM_b", name: "b", metadata: "m", emptyTimeout: 10,
                                                  departureTimeout: 5, maxParticipants: 3, createdAtMs: 2))
            try await store.updateRoomMetadata(sid: "RM_a", metadata: "hello")
            try await store.closeRoom(sid: "RM_b", atMs: 99)
        }
        let reopened = try SluiceStore(path: path)
        let open = try await reopened.openRooms()
        #expect(open.map(\.name) == ["a"])
        #expect(open.first?.metadata == "hello")
        let closed = try await reopened.room(sid: "RM_b")
        #expect(closed?.closedAtMs == 99)
        #expect(closed?.maxParticipants == 3)
    }

    @Test func onlyOneOpenRoomPerName() async throws {
        let store = try SluiceStore(path: tempPath())
        try await store.insertRoom(RoomRecord(sid: "RM_1", name: "x", emptyTimeout: 1, departureTimeout: 1,
                                              maxParticipants: 0, createdAtMs: 1))
        await #expect(throws: (any Error).self) {
            try await store.insertRoom(RoomRecord(sid: "RM_2", name: "x", emptyTimeout: 1, departureTimeout: 1,
                                                  maxParticipants: 0, createdAtMs: 2))
        }
        try await store.closeRoom(sid: "RM_1", atMs: 3)
        // After closing, the name is free again.
        try await store.insertRoom(RoomRecord(sid: "RM_3", name: "x", emptyTimeout: 1, departureTimeout: 1,
                                              maxParticipants: 0, createdAtMs: 4))
        #expect(try await store.openRooms().map(\.sid) == ["RM_3"])
    }

    @Test func participantHistoryIsClosedWithTheRoom() async throws {
        let store = try SluiceStore(path: tempPath())
        try await store.insertRoom(RoomRecord(sid: "RM_1", name: "r", emptyTimeout: 1, departureTimeout: 1,
                                              maxParticipants: 0, createdAtMs: 1))
        try await store.participantJoined(ParticipantSessionRecord(participantSid: "PA_1", roomSid: "RM_1",
                                                                   roomName: "r", identity: "alice", joinedAtMs: 10))
        try await store.participantJoined(ParticipantSessionRecord(participantSid: "PA_2", roomSid: "RM_1",
                                                                   roomName: "r", identity: "bob", joinedAtMs: 11))
        try await store.participantLeft(participantSid: "PA_1", atMs: 20, reason: "CLIENT_INITIATED")
        try await store.closeRoom(sid: "RM_1", atMs: 30)
        let sessions = try await store.participantSessions(roomSid: "RM_1")
        #expect(sessions.map(\.identity) == ["alice", "bob"])
        #expect(sessions[0].leftAtMs == 20 && sessions[0].disconnectReason == "CLIENT_INITIATED")
        #expect(sessions[1].leftAtMs == 30 && sessions[1].disconnectReason == "ROOM_CLOSED")
    }

    @Test func egressUpsertAndFilters() async throws {
        let store = try SluiceStore(path: tempPath())
        try await store.upsertEgress(EgressRecord(egressID: "EG_1", roomSid: "RM_1", roomName: "r", status: 0,
                                                  info: [1, 2], updatedAtMs: 1))
        try await store.upsertEgress(EgressRecord(egressID: "EG_2", roomSid: "RM_1", roomName: "r", status: 1,
                                                  info: [3], updatedAtMs: 2))
        try await store.upsertEgress(EgressRecord(egressID: "EG_1", roomSid: "RM_1", roomName: "r", status: 3,
                                                  info: [9], updatedAtMs: 3))
        #expect(try await store.egresses(roomName: "r").map(\.egressID) == ["EG_2", "EG_1"])
        #expect(try await store.egresses(egressID: "EG_1").first?.info == [9])
        #expect(try await store.egresses(statuses: [0, 1, 2]).map(\.egressID) == ["EG_2"])
        #expect(try await store.egresses(roomName: "nope").isEmpty)
    }

    @Test func usesWriteAheadLogging() async throws {
        let store = try SluiceStore(path: tempPath())
        #expect(try await store.journalMode() == "wal")
    }
}

@Suite struct SluiceStoreOpenRoomTests {
    @Test func concurrentOpensOfOneNameConvergeOnOneRow() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-open-\(UUID().uuidString).sqlite").path
        let store = try SluiceStore(path: path)
        let results = try await withThrowingTaskGroup(of: RoomRecord.self) { group in
            for i in 0..<20 {
                group.addTask {
                    try await store.openRoom(RoomRecord(sid: "RM_\(i)", name: "sale", emptyTimeout: 1, departureTimeout: 1,
                                                        maxParticipants: 0, createdAtMs: Int64(i)))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(results.map(\.sid)).count == 1)
        #expect(try await store.openRooms().map(\.sid) == [results[0].sid])
        // Once closed, the name opens as a new room.
        try await store.closeRoom(sid: results[0].sid, atMs: 100)
        let next = try await store.openRoom(RoomRecord(sid: "RM_new", name: "sale", emptyTimeout: 1, departureTimeout: 1,
                                                       maxParticipants: 0, createdAtMs: 101))
        #expect(next.sid == "RM_new")
    }
}
