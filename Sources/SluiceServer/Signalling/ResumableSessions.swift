import MediaPlane
import Foundation
import Signal

/// Sessions whose WebSocket dropped without a leave, kept for a short window so the client can
/// resume (`/rtc?reconnect=1&sid=PA_...`) without the room noticing: its peer connections keep
/// carrying media meanwhile.
actor ResumableSessions {
    struct Parked: Sendable {
        let session: SignalSession
        let media: RTCParticipant
        let sink: SwitchableSignalSink
        let roomName: String
        let identity: String
    }

    /// How long a dropped session waits for its client.
    let window: Duration
    private var parked: [String: Parked] = [:]  // by participant sid
    private var claimed: Set<String> = []
    /// For metrics: sessions waiting for their client now, and how parked sessions ended.
    var parkedCount: Int { parked.count }
    private(set) var resumed = 0
    private(set) var expired = 0

    init(window: Duration = .seconds(10)) {
        self.window = window
    }

    /// Parks a session and waits: true when a resume claimed it within the window (the new
    /// connection owns it now), false when the window passed (the caller ends it).
    func park(_ entry: Parked, sid: String) async -> Bool {
        parked[sid] = entry
        let deadline = ContinuousClock.now + window
        while ContinuousClock.now < deadline, !claimed.contains(sid), !entry.sink.isClosed {
            try? await Task.sleep(for: .milliseconds(50))
        }
        parked[sid] = nil
        let wasClaimed = claimed.remove(sid) != nil
        if wasClaimed { resumed += 1 } else { expired += 1 }
        return wasClaimed
    }

    /// A resuming client claims its parked session; the token's identity and room must match.
    func claim(sid: String, identity: String, roomName: String) -> Parked? {
        guard let entry = parked[sid], entry.identity == identity, entry.roomName == roomName,
              !entry.sink.isClosed else { return nil }
        parked[sid] = nil
        claimed.insert(sid)
        return entry
    }
}
