import Auth
import Foundation
import LiveKitProto
import Logging
import Synchronization
import Testing
@testable import Signal
@testable import Store

/// Records where admission went and holds chosen callers there until released, so a test can
/// make one join or create wait at its racy point while others run (issue #20).
actor AdmissionGate {
    private var points: [RoomManager.AdmissionPoint] = []
    private var held: [CheckedContinuation<Void, Never>] = []
    private let hold: @Sendable (RoomManager.AdmissionPoint, Int) -> Bool

    /// `hold(point, n)`: whether the n-th arrival (1-based) at `point` waits for `release()`.
    init(hold: @escaping @Sendable (RoomManager.AdmissionPoint, Int) -> Bool) {
        self.hold = hold
    }

    func arrive(_ point: RoomManager.AdmissionPoint) async {
        points.append(point)
        if hold(point, count(point)) {
            await withCheckedContinuation { held.append($0) }
        }
    }

    func count(_ point: RoomManager.AdmissionPoint) -> Int { points.filter { $0 == point }.count }
    var heldCount: Int { held.count }

    func release() {
        for continuation in held { continuation.resume() }
        held = []
    }

    /// Polls until `condition` holds or two seconds pass; returns whether it held.
    func wait(until condition: @Sendable (AdmissionGate) async -> Bool) async -> Bool {
        for _ in 0..<2000 {
            if await condition(self) { return true }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return false
    }
}

@Suite struct AdmissionRaceTests {
    func makeStore() throws -> SluiceStore {
        try SluiceStore(path: FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-race-\(UUID().uuidString).sqlite").path)
    }

    func params(_ identity: String, room: String) -> JoinParameters {
        JoinParameters(identity: identity, name: identity, grant: VideoGrant(roomJoin: true, room: room))
    }

    @Test func concurrentCreatesAndFirstJoinsConvergeOnOneRoom() async throws {
        let store = try makeStore()
        let rooms = RoomManager(store: store, defaults: RoomDefaults(), logger: Logger(label: "t"))
        // The first store write of the room waits until released.
        let gate = AdmissionGate(hold: { point, n in point == .storingRoom("sale") && n == 1 })
        await rooms.setAdmissionHook { await gate.arrive($0) }

        async let created = rooms.createRoom(name: "sale")
        #expect(await gate.wait { await $0.heldCount == 1 })
        let viewer = RecordingSink()
        async let joined = rooms.join(roomName: "sale", params("viewer", room: "sale"), sink: viewer)
        async let again = rooms.createRoom(name: "sale", metadata: "second")
        // Both latecomers must wait for the held creation, not store a room of their own.
        let waited = await gate.wait { gate in
            let waiting = await gate.count(.awaitingRoom("sale")), storing = await gate.count(.storingRoom("sale"))
            return waiting == 2 || storing > 1
        }
        #expect(waited)
        #expect(await gate.count(.storingRoom("sale")) == 1)
        await gate.release()

        let (a, j, b) = try await (created, joined, again)
        #expect(a.sid == b.sid && a.sid == j.room.sid)
        #expect(await rooms.listRooms().map(\.sid) == [a.sid])
        let stored = try await store.openRooms()
        #expect(stored.map(\.sid) == [a.sid])
        #expect(await rooms.room(named: "sale")?.numParticipants == 1)
    }

    @Test func joinResponseComesFirstEvenWhenOthersJoinMeanwhile() async throws {
        let rooms = RoomManager(store: try makeStore(), defaults: RoomDefaults(), logger: Logger(label: "t"))
        // Hold the first participant after it is admitted, before its join finishes, while a
        // second participant joins and is announced to it.
        let gate = AdmissionGate(hold: { point, _ in point == .recordingParticipant(room: "r", identity: "first") })
        await rooms.setAdmissionHook { await gate.arrive($0) }
        let firstSink = RecordingSink(), secondSink = RecordingSink()
        let first = SignalSession(roomName: "r", parameters: params("first", room: "r"), rooms: rooms, sink: firstSink,
                                  logger: Logger(label: "t"))
        let second = SignalSession(roomName: "r", parameters: params("second", room: "r"), rooms: rooms,
                                   sink: secondSink, logger: Logger(label: "t"))
        async let started: Void = first.start()
        #expect(await gate.wait { await $0.heldCount == 1 })
        try await second.start()
        await gate.release()
        try await started

        let firstKinds = firstSink.messages.map { Self.kind($0) }
        #expect(firstKinds.first == "join")
        #expect(firstKinds == ["join", "update"])
        #expect(firstSink.messages[0].join.otherParticipants.isEmpty)
        #expect(firstSink.updates.map(\.identity) == ["second"])
        #expect(secondSink.messages.first.map { Self.kind($0) } == "join")
        #expect(secondSink.messages[0].join.otherParticipants.map(\.identity) == ["first"])
        #expect(secondSink.updates.isEmpty)
    }

    /// Many sessions into a few new rooms at once, each admission step delayed at random: every
    /// session's first message is its join, every room is one room, and each participant sees
    /// each other participant exactly once (in its join or in one later update).
    @Test(arguments: 0..<3)
    func joinStormUnderRandomInterleavings(round: Int) async throws {
        let store = try makeStore()
        let rooms = RoomManager(store: store, defaults: RoomDefaults(), logger: Logger(label: "t"))
        await rooms.setAdmissionHook { _ in
            for _ in 0..<Int.random(in: 0...20) { await Task.yield() }
            if Bool.random() { try? await Task.sleep(for: .microseconds(Int.random(in: 0...500))) }
        }
        let roomCount = 8, perRoom = 12
        let sinks = (0..<roomCount).map { _ in (0..<perRoom).map { _ in RecordingSink() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for r in 0..<roomCount {
                for p in 0..<perRoom {
                    let session = SignalSession(roomName: "room-\(r)", parameters: params("p\(p)", room: "room-\(r)"),
                                                rooms: rooms, sink: sinks[r][p], logger: Logger(label: "t"))
                    group.addTask { try await session.start() }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.openRooms().count == roomCount)
        let listed = await rooms.listRooms()
        #expect(listed.count == roomCount && listed.allSatisfy { $0.numParticipants == UInt32(perRoom) })
        for r in 0..<roomCount {
            for p in 0..<perRoom {
                let messages = sinks[r][p].messages
                #expect(messages.first.map { Self.kind($0) } == "join", "room-\(r) p\(p) got \(messages.first.map { Self.kind($0) } ?? "nothing") first")
                guard let join = messages.first?.join else { continue }
                #expect(join.room.sid == listed.first { $0.name == "room-\(r)" }?.sid)
                let seen = join.otherParticipants.map(\.identity) + sinks[r][p].updates.map(\.identity)
                let expected = (0..<perRoom).filter { $0 != p }.map { "p\($0)" }
                #expect(seen.sorted() == expected.sorted(), "room-\(r) p\(p) saw \(seen.sorted())")
            }
        }
    }

    static func kind(_ message: Livekit_SignalResponse) -> String {
        switch message.message {
        case .join: "join"
        case .update: "update"
        case .leave: "leave"
        case .some(let other): "\(other)"
        case .none: "none"
        }
    }
}
