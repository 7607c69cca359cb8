import MediaPlane
import Foundation
import Signal
import Synchronization

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

    /// The WebSocket a live session is on now, as far as the server knows. A client whose
    /// network changed resumes on a new connection while its old one still looks open here
    /// (a path that died silently is noticed only by the 15 s ping timeout; a starved downlink
    /// can hold a close behind the queue): the resume then takes the session over instead of
    /// being refused, as LiveKit's server does.
    final class Connection: Sendable {
        let identity: String
        let roomName: String
        private let takeover = Mutex(false)

        init(identity: String, roomName: String) {
            self.identity = identity
            self.roomName = roomName
        }

        /// True once a resume asked this connection to let go of its session.
        var isTakenOver: Bool { takeover.withLock { $0 } }
        func requestTakeover() { takeover.withLock { $0 = true } }
    }

    /// How long a dropped session waits for its client.
    let window: Duration
    /// How long a resume waits for a session still on another connection to be let go and parked.
    let takeoverWait: Duration
    private var parked: [String: Parked] = [:]  // by participant sid
    private var connections: [String: Connection] = [:]  // by participant sid
    private var claimed: Set<String> = []
    /// For metrics: sessions waiting for their client now, and how parked sessions ended.
    var parkedCount: Int { parked.count }
    private(set) var resumed = 0
    private(set) var expired = 0
    private(set) var takenOver = 0

    init(window: Duration = .seconds(10), takeoverWait: Duration = .seconds(3)) {
        self.window = window
        self.takeoverWait = takeoverWait
    }

    /// A session is on `connection` now (joined, or resumed onto it).
    func attach(_ connection: Connection, sid: String) {
        connections[sid] = connection
    }

    /// `connection` no longer carries the session (it parked it, or the session ended).
    func detach(_ connection: Connection, sid: String) {
        if connections[sid] === connection { connections[sid] = nil }
    }

    /// Parks a session and waits: true when a resume claimed it within the window (the new
    /// connection owns it now), false when the window passed (the caller ends it).
    func park(_ entry: Parked, sid: String, from connection: Connection) async -> Bool {
        parked[sid] = entry
        detach(connection, sid: sid)
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
    /// A session still on an older connection is asked to let go, and claimed once parked.
    func claim(sid: String, identity: String, roomName: String) async -> Parked? {
        if parked[sid] == nil, let old = connections[sid], old.identity == identity, old.roomName == roomName {
            old.requestTakeover()
            let deadline = ContinuousClock.now + takeoverWait
            while parked[sid] == nil, connections[sid] === old, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            if parked[sid] != nil { takenOver += 1 }
        }
        guard let entry = parked[sid], entry.identity == identity, entry.roomName == roomName,
              !entry.sink.isClosed else { return nil }
        parked[sid] = nil
        claimed.insert(sid)
        return entry
    }
}
