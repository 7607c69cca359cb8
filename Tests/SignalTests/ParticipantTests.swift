import Auth
import Foundation
import LiveKitProto
import Logging
import Synchronization
import Testing
@testable import Signal
@testable import Store

/// Records what a participant would have been sent.
final class RecordingSink: SignalSink {
    private let state = Mutex<(messages: [Livekit_SignalResponse], closed: Bool)>(([], false))
    func send(_ response: Livekit_SignalResponse) { state.withLock { $0.messages.append(response) } }
    func close() { state.withLock { $0.closed = true } }
    var messages: [Livekit_SignalResponse] { state.withLock { $0.messages } }
    var closed: Bool { state.withLock { $0.closed } }
    var updates: [Livekit_ParticipantInfo] { messages.flatMap { $0.update.participants } }
    var leaves: [Livekit_LeaveRequest] {
        messages.compactMap { if case .leave(let l)? = $0.message { return l } else { return nil } }
    }
}

@Suite struct ParticipantTests {
    func makeRooms(_ defaults: RoomDefaults = RoomDefaults()) throws -> RoomManager {
        let store = try SluiceStore(path: FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-participants-\(UUID().uuidString).sqlite").path)
        return RoomManager(store: store, defaults: defaults, logger: Logger(label: "test"))
    }

    func params(_ identity: String, hidden: Bool = false, publish: Bool = true) -> JoinParameters {
        JoinParameters(identity: identity, name: identity.capitalized,
                       grant: VideoGrant(roomJoin: true, room: "r", canPublish: publish, hidden: hidden))
    }

    @Test func joinAnnouncesToOthersWithIncreasingVersions() async throws {
        let rooms = try makeRooms()
        let a = RecordingSink(), b = RecordingSink()
        let ja = try await rooms.join(roomName: "r", params("a"), sink: a)
        #expect(ja.participant.sid.hasPrefix("PA_") && ja.otherParticipants.isEmpty)
        #expect(ja.room.name == "r" && ja.room.numParticipants == 1)
        let jb = try await rooms.join(roomName: "r", params("b", publish: false), sink: b)
        #expect(jb.otherParticipants.map(\.identity) == ["a"])
        #expect(!jb.participant.permission.canPublish)
        #expect(a.updates.map(\.identity) == ["b"])
        #expect(b.updates.isEmpty)

        let updated = try await rooms.updateParticipant(roomName: "r", identity: "b", metadata: "m", attributes: ["k": "v"])
        #expect(updated.version > jb.participant.version)
        #expect(a.updates.last?.metadata == "m" && b.updates.last?.attributes == ["k": "v"])

        await rooms.leave(roomName: "r", participantSid: jb.participant.sid, reason: .clientInitiated)
        let last = try #require(a.updates.last)
        #expect(last.state == .disconnected && last.version > updated.version && last.disconnectReason == .clientInitiated)
        #expect(try await rooms.participants(roomName: "r").map(\.identity) == ["a"])
    }

    @Test func hiddenParticipantsAreNeitherAnnouncedNorCounted() async throws {
        let rooms = try makeRooms()
        let a = RecordingSink(), ghost = RecordingSink()
        _ = try await rooms.join(roomName: "r", params("a"), sink: a)
        let g = try await rooms.join(roomName: "r", params("ghost", hidden: true), sink: ghost)
        #expect(g.otherParticipants.map(\.identity) == ["a"])
        #expect(a.updates.isEmpty)
        #expect(try await rooms.participants(roomName: "r").map(\.identity) == ["a"])
        #expect(await rooms.room(named: "r")?.numParticipants == 1)
        await rooms.leave(roomName: "r", participantSid: g.participant.sid, reason: .clientInitiated)
        #expect(a.updates.isEmpty)
    }

    @Test func duplicateIdentityEvictsTheOlderSession() async throws {
        let rooms = try makeRooms()
        let old = RecordingSink(), new = RecordingSink(), watcher = RecordingSink()
        _ = try await rooms.join(roomName: "r", params("w"), sink: watcher)
        let first = try await rooms.join(roomName: "r", params("host"), sink: old)
        let second = try await rooms.join(roomName: "r", params("host"), sink: new)
        #expect(old.leaves.map(\.reason) == [.duplicateIdentity] && old.closed)
        #expect(second.participant.sid != first.participant.sid)
        #expect(second.otherParticipants.map(\.identity) == ["w"])
        #expect(try await rooms.participants(roomName: "r").map(\.sid).sorted()
                == [second.participant.sid, try await rooms.participant(roomName: "r", identity: "w").sid].sorted())
    }

    @Test func maxParticipantsAndAutoCreate() async throws {
        let rooms = try makeRooms(RoomDefaults(autoCreate: false))
        await #expect(throws: JoinError.roomNotFound("r")) {
            _ = try await rooms.join(roomName: "r", params("a"), sink: RecordingSink())
        }
        _ = try await rooms.createRoom(name: "r", maxParticipants: 1)
        _ = try await rooms.join(roomName: "r", params("a"), sink: RecordingSink())
        await #expect(throws: JoinError.roomFull("r")) {
            _ = try await rooms.join(roomName: "r", params("b"), sink: RecordingSink())
        }
        await #expect(throws: JoinError.roomFull("r")) { try await rooms.checkAdmission(roomName: "r", identity: "b", hidden: false) }
        // Rejoining with the same identity replaces, so it is not "full"; hidden ones do not count.
        try await rooms.checkAdmission(roomName: "r", identity: "a", hidden: false)
        _ = try await rooms.join(roomName: "r", params("ghost", hidden: true), sink: RecordingSink())
    }

    @Test func deletingARoomDisconnectsEveryone() async throws {
        let rooms = try makeRooms()
        let a = RecordingSink(), b = RecordingSink()
        _ = try await rooms.join(roomName: "r", params("a"), sink: a)
        _ = try await rooms.join(roomName: "r", params("b"), sink: b)
        try await rooms.deleteRoom(name: "r")
        #expect(a.leaves.map(\.reason) == [.roomDeleted] && a.closed)
        #expect(b.leaves.map(\.reason) == [.roomDeleted] && b.closed)
        #expect(await rooms.room(named: "r") == nil)
    }

    @Test func removeParticipantSendsReason() async throws {
        let rooms = try makeRooms()
        let a = RecordingSink()
        _ = try await rooms.join(roomName: "r", params("a"), sink: a)
        try await rooms.removeParticipant(roomName: "r", identity: "a")
        #expect(a.leaves.map(\.reason) == [.participantRemoved] && a.closed)
        await #expect(throws: RoomError.participantNotFound("a")) { try await rooms.removeParticipant(roomName: "r", identity: "a") }
    }

    @Test func roomClosesAfterDepartureTimeoutOnceEmpty() async throws {
        let clock = ManualClock()
        let store = try SluiceStore(path: FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-dep-\(UUID().uuidString).sqlite").path)
        let rooms = RoomManager(store: store, defaults: RoomDefaults(emptyTimeout: 300, departureTimeout: 20),
                                logger: Logger(label: "t"), nowMs: clock.now)
        let j = try await rooms.join(roomName: "r", params("a"), sink: RecordingSink())
        clock.advance(seconds: 1000)
        #expect(await rooms.closeIdleRooms().isEmpty)  // occupied rooms never close
        await rooms.leave(roomName: "r", participantSid: j.participant.sid, reason: .clientInitiated)
        clock.advance(seconds: 19)
        #expect(await rooms.closeIdleRooms().isEmpty)
        clock.advance(seconds: 1)
        #expect(await rooms.closeIdleRooms() == ["r"])
        let history = try await store.participantSessions(roomSid: j.room.sid)
        #expect(history.map(\.identity) == ["a"] && history[0].leftAtMs != nil)
    }

    @Test func signalSessionAnswersPingsAndEnforcesMetadataGrant() async throws {
        let rooms = try makeRooms()
        let sink = RecordingSink()
        let session = SignalSession(roomName: "r", parameters: params("a"), rooms: rooms, sink: sink, logger: Logger(label: "t"))
        try await session.start()
        let join = try #require(sink.messages.first?.join)
        #expect(join.pingInterval > 0 && join.pingTimeout > 0 && !join.serverInfo.version.isEmpty && join.subscriberPrimary)

        var ping = Livekit_SignalRequest()
        ping.pingReq = Livekit_Ping.with { $0.timestamp = 42 }
        await session.handle(ping)
        #expect(sink.messages.last?.pongResp.lastPingTimestamp == 42)

        var meta = Livekit_SignalRequest()
        meta.updateMetadata = Livekit_UpdateParticipantMetadata.with { $0.metadata = "x"; $0.requestID = 7 }
        await session.handle(meta)
        #expect(sink.messages.last?.requestResponse.reason == .notAllowed)
        #expect(sink.messages.last?.requestResponse.requestID == 7)

        var leave = Livekit_SignalRequest()
        leave.leave = Livekit_LeaveRequest.with { $0.reason = .clientInitiated }
        await session.handle(leave)
        #expect(sink.closed)
        #expect(try await rooms.participants(roomName: "r").isEmpty)
    }

    /// AddTrackRequest, then the media in the offer: the track is published, the room hears of it
    /// (ParticipantUpdate, track_published), and an m-line that stops unpublishes it.
    @Test func offeredMediaPublishesAnnouncedTracksAndStoppedLinesUnpublish() async throws {
        let rooms = try makeRooms()
        let events = Mutex<[String]>([])
        await rooms.observe { event in
            switch event {
            case .trackPublished(_, _, let t): events.withLock { $0.append("published \(t.name)") }
            case .trackUnpublished(_, _, let t): events.withLock { $0.append("unpublished \(t.name)") }
            default: break
            }
        }
        let sink = RecordingSink(), watcher = RecordingSink()
        let session = SignalSession(roomName: "r", parameters: params("host"), rooms: rooms, sink: sink, logger: Logger(label: "t"))
        try await session.start()
        _ = try await rooms.join(roomName: "r", params("watcher"), sink: watcher)
        var add = Livekit_SignalRequest()
        add.addTrack = Livekit_AddTrackRequest.with { $0.cid = "cam-cid"; $0.name = "camera"; $0.type = .video; $0.source = .camera }
        await session.handle(add)
        let sid = try #require(sink.messages.last?.trackPublished.track.sid)
        // An m-line nobody announced is ignored; the announced one (matched by msid) is published.
        let bound = await session.publisherMediaChanged(added: [
            PublisherMedia(line: 1, mid: "1", type: .audio, msidTrackID: "stray", mimeType: "audio/opus"),
            PublisherMedia(line: 2, mid: "2", type: .video, msidTrackID: "cam-cid", mimeType: "video/VP8"),
        ], removed: [])
        #expect(bound.map(\.line) == [2] && bound.first?.track.sid == sid && bound.first?.track.mid == "2")
        let seen = try await rooms.participant(roomName: "r", identity: "host")
        #expect(seen.tracks.map(\.sid) == [sid] && seen.tracks[0].mimeType == "video/VP8")
        #expect(watcher.updates.last?.tracks.map(\.sid) == [sid])

        let muted = try await rooms.mutePublishedTrack(roomName: "r", identity: "host", trackSid: sid, muted: true)
        #expect(muted.muted && sink.messages.last?.mute.sid == sid && watcher.updates.last?.tracks.first?.muted == true)
        await #expect(throws: RoomError.trackNotFound("TR_nope")) {
            try await rooms.mutePublishedTrack(roomName: "r", identity: "host", trackSid: "TR_nope", muted: true)
        }

        _ = await session.publisherMediaChanged(added: [], removed: [sid])
        #expect(sink.messages.contains { $0.trackUnpublished.trackSid == sid })
        #expect(try await rooms.participant(roomName: "r", identity: "host").tracks.isEmpty)
        try await Task.sleep(for: .milliseconds(10))
        #expect(events.withLock { $0 } == ["published camera", "unpublished camera"])
    }

    /// A client that goes silent is timed out after LiveKit's ping timeout; anything it sends
    /// (a ping, or SDP handled elsewhere via `touch`) keeps it alive. The clock moves a second at
    /// a time with a check each second, as the signalling watchdog asks.
    @Test func silentClientTimesOutAfterThePingTimeout() async throws {
        let rooms = try makeRooms()
        let clock = ManualClock()
        let session = SignalSession(roomName: "r", parameters: params("a"), rooms: rooms, sink: RecordingSink(),
                                    logger: Logger(label: "t"), nowMs: clock.now)
        try await session.start()
        func watch(seconds: Int) async -> Bool {
            var timedOut = false
            for _ in 0..<seconds {
                clock.advance(seconds: 1)
                timedOut = await session.isTimedOut()
            }
            return timedOut
        }
        #expect(await watch(seconds: Int(SignalSession.pingTimeout)) == false)
        await session.touch()
        #expect(await watch(seconds: Int(SignalSession.pingTimeout) + 1))
        var ping = Livekit_SignalRequest()
        ping.pingReq = Livekit_Ping.with { $0.timestamp = 1 }
        await session.handle(ping)
        #expect(await session.isTimedOut() == false)
    }

    /// The server itself stalled (no watchdog check for 20 s: starved of CPU or suspended): the
    /// client's pings from that time may still be unread in its socket, so the stall does not
    /// count as the client's silence. A client silent after the stall still times out.
    @Test func serverStallIsNotTheClientsSilence() async throws {
        let rooms = try makeRooms()
        let clock = ManualClock()
        let session = SignalSession(roomName: "r", parameters: params("a"), rooms: rooms, sink: RecordingSink(),
                                    logger: Logger(label: "t"), nowMs: clock.now)
        try await session.start()
        clock.advance(seconds: 4)
        #expect(await session.isTimedOut() == false)  // heard 4 s ago
        clock.advance(seconds: 20)  // the whole process did not run
        #expect(await session.isTimedOut() == false)
        // Silent for the timeout after the stall (4 s before it count): timed out.
        var timedOut = false
        for _ in 0..<Int(SignalSession.pingTimeout) - 3 {
            clock.advance(seconds: 1)
            timedOut = await session.isTimedOut()
        }
        #expect(timedOut)
    }
}
