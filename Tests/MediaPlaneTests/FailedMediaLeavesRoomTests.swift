import Foundation
import LiveKitProto
import Logging
import MediaPlane
import Signal
import Synchronization
import Testing
import WebRTC

/// A sink that drops everything (the test watches the media side only).
private struct DroppingSink: SignalSink {
    func send(_ response: Livekit_SignalResponse) {}
    func close() {}
}

@Suite struct FailedMediaLeavesRoomTests {
    /// A LiveKit participant whose peer connection fails (ICE failed, consent lost) leaves the
    /// room's media at once: the room's bookkeeping is empty again and its connections closed,
    /// without waiting for the client to close its WebSocket (issue #20's soak: publishers whose
    /// ICE failed stayed in their hubs, so later joiners were offered dead tracks, and their UDP
    /// sockets stayed open after everyone left).
    @Test func participantWhoseMediaFailedLeavesTheRoom() async throws {
        let sessions = try MediaSessions(settings: .init(localAddresses: ["127.0.0.1"], portRange: nil, workerCount: 1),
                                         logger: Logger(label: "test"))
        let told = Mutex<String?>(nil)
        var participants: [RTCParticipant] = []
        for index in 0..<3 {
            participants.append(try await sessions.openParticipant(
                room: "r", sid: "PA_\(index)", identity: "p\(index)",
                permission: Livekit_ParticipantPermission.with { $0.canSubscribe = true; $0.canPublish = true },
                autoSubscribe: true, sink: DroppingSink(), onConnected: {},
                onFailed: { why in told.withLock { $0 = why } }))
        }
        #expect(await sessions.mediaSessionCount == 3)
        let failing = participants[0]
        try await failing.worker.run { failing.peerConnection(failing.publisher, didChangeState: .failed("ICE failed")) }
        let deadline = ContinuousClock.now + .seconds(5)
        while await sessions.mediaSessionCount > 2, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(told.withLock { $0 } == "ICE failed")
        #expect(await sessions.mediaSessionCount == 2)
        // (In a function of its own, so the test keeps no reference to the hub.)
        func membersAndClosed() async throws -> (Set<String>, Bool) {
            let hub = try #require(await sessions.hub(room: "r"))
            return try await failing.worker.run { (Set(hub.members.keys), failing.isClosed) }
        }
        let (members, closed) = try await membersAndClosed()
        #expect(members == ["PA_1", "PA_2"])
        #expect(closed)
        // The others leaving empties the room's bookkeeping; then the failed one's signalling
        // ends too and closes it again, after its room (and hub) went away: nothing happens.
        for participant in participants.dropFirst() { await sessions.closeParticipant(participant) }
        #expect(await sessions.roomCount == 0)
        #expect(await sessions.mediaSessionCount == 0)
        await sessions.closeParticipant(failing)
        #expect(await sessions.roomCount == 0)
    }
}
