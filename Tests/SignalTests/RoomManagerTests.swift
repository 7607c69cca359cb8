import Foundation
import Logging
import Synchronization
import Testing
@testable import Signal
@testable import Store

/// A settable clock so timeouts are tested without sleeping.
final class ManualClock: Sendable {
    private let ms = Mutex<Int64>(1_000_000)
    func now() -> Int64 { ms.withLock { $0 } }
    func advance(seconds: Int64) { ms.withLock { $0 += seconds * 1000 } }
}

@Suite struct RoomManagerTests {
    func makeStore() throws -> SluiceStore {
        try SluiceStore(path: FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-rooms-\(UUID().uuidString).sqlite").path)
    }

    @Test func createIsIdempotentAndAppliesDefaults() async throws {
        let clock = ManualClock()
        let rooms = RoomManager(store: try makeStore(), defaults: RoomDefaults(emptyTimeout: 300, departureTimeout: 20),
                                logger: Logger(label: "test"), nowMs: clock.now)
        let a = try await rooms.createRoom(name: "shop", metadata: "m1")
        #expect(a.sid.hasPrefix("RM_") && a.sid.count == 15)
        #expect(a.emptyTimeout == 300 && a.departureTimeout == 20)
        let again = try await rooms.createRoom(name: "shop", emptyTimeout: 5, metadata: "other")
        #expect(again == a)
        let b = try await rooms.createRoom(name: "b", emptyTimeout: 7, maxParticipants: 3)
        #expect(b.emptyTimeout == 7 && b.maxParticipants == 3)
        #expect(await rooms.listRooms().map(\.name) == ["shop", "b"])
        #expect(await rooms.listRooms(names: ["b", "missing"]).map(\.name) == ["b"])
    }

    @Test func invalidNamesAreRefused() async throws {
        let rooms = RoomManager(store: try makeStore(), defaults: RoomDefaults(), logger: Logger(label: "test"))
        await #expect(throws: RoomError.self) { try await rooms.createRoom(name: "") }
        await #expect(throws: RoomError.self) { try await rooms.createRoom(name: String(repeating: "x", count: 300)) }
        await #expect(throws: RoomError.self) { try await rooms.createRoom(name: "bad\u{0}name") }
    }

    @Test func emptyRoomClosesAfterEmptyTimeout() async throws {
        let clock = ManualClock()
        let store = try makeStore()
        let rooms = RoomManager(store: store, defaults: RoomDefaults(emptyTimeout: 300), logger: Logger(label: "t"),
                                nowMs: clock.now)
        let room = try await rooms.createRoom(name: "idle")
        _ = try await rooms.createRoom(name: "longer", emptyTimeout: 900)
        clock.advance(seconds: 299)
        #expect(await rooms.closeIdleRooms().isEmpty)
        clock.advance(seconds: 1)
        #expect(await rooms.closeIdleRooms() == ["idle"])
        #expect(await rooms.listRooms().map(\.name) == ["longer"])
        let record = try await store.room(sid: room.sid)
        #expect(record?.closedAtMs == clock.now())
    }

    @Test func deleteAndMetadata() async throws {
        let rooms = RoomManager(store: try makeStore(), defaults: RoomDefaults(), logger: Logger(label: "t"))
        _ = try await rooms.createRoom(name: "r")
        let updated = try await rooms.updateMetadata(name: "r", metadata: "{\"sale\":true}")
        #expect(updated.metadata == "{\"sale\":true}")
        try await rooms.deleteRoom(name: "r")
        await #expect(throws: RoomError.notFound("r")) { try await rooms.deleteRoom(name: "r") }
        await #expect(throws: RoomError.notFound("r")) { _ = try await rooms.updateMetadata(name: "r", metadata: "") }
    }

    @Test func openRoomsAreRestored() async throws {
        let store = try makeStore()
        let first = RoomManager(store: store, defaults: RoomDefaults(), logger: Logger(label: "t"))
        let made = try await first.createRoom(name: "kept", metadata: "meta")
        let second = RoomManager(store: store, defaults: RoomDefaults(), logger: Logger(label: "t"))
        try await second.restore()
        #expect(await second.room(named: "kept") == made)
    }
}
