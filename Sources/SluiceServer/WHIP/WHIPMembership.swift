import MediaPlane
import LiveKitProto
import Signal

/// Makes WHIP publishers and WHEP viewers members of their LiveKit room, so the RoomService
/// lists and counts them, webhooks announce them, and DeleteRoom / RemoveParticipant /
/// a duplicate identity end their media session.
actor WHIPMembership {
    private let rooms: RoomManager
    private var bySession: [String: (room: String, participantSid: String)] = [:]

    init(rooms: RoomManager) {
        self.rooms = rooms
    }

    /// Joins `session`'s identity to its room. WHIP has no signalling channel, so room messages
    /// are dropped and a room-side close ends the media session.
    func join(_ session: MediaSession, claims parameters: JoinParameters, sessions: MediaSessions) async throws {
        let sink = MediaSessionSink(session: session, sessions: sessions)
        let outcome = try await rooms.join(roomName: session.roomName, parameters, sink: sink)
        bySession[session.id] = (session.roomName, outcome.participant.sid)
        await rooms.markActive(roomName: session.roomName, participantSid: outcome.participant.sid)
        let tracks = session.publishedTrackInfos.withLock { $0 }
        if !tracks.isEmpty {
            await rooms.setTracks(roomName: session.roomName, participantSid: outcome.participant.sid, tracks)
        }
        // After the room announced the participant and its tracks: LiveKit clients match the
        // subscriber offer's stream ids against what they were told.
        await sessions.enroll(session, sid: outcome.participant.sid, permission: outcome.participant.permission)
    }

    /// The media session ended: the participant leaves the room.
    func sessionEnded(_ sessionID: String) async {
        guard let member = bySession.removeValue(forKey: sessionID) else { return }
        await rooms.leave(roomName: member.room, participantSid: member.participantSid, reason: .clientInitiated)
    }
}

/// The `SignalSink` of a WHIP/WHEP participant.
struct MediaSessionSink: SignalSink {
    let session: MediaSession
    let sessions: MediaSessions

    func send(_ response: Livekit_SignalResponse) {}

    func close() {
        let session = self.session, sessions = self.sessions
        Task { await sessions.close(session) }
    }
}
