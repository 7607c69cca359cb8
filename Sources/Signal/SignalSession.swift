import Foundation
import LiveKitProto
import Logging

/// One participant's LiveKit signalling conversation: join, then requests in and responses out.
///
/// The transport (WebSocket) feeds `handle(_:)` with decoded SignalRequests and delivers what the
/// session sends through its `SignalSink`. Nothing a client sends can throw out of here: unknown
/// or unsupported requests are answered or logged, and the session carries on.
public actor SignalSession {
    /// Seconds between client pings and before a silent client is dropped (LiveKit's defaults).
    public static let pingInterval: Int32 = 5
    public static let pingTimeout: Int32 = 15
    /// The ping timeout clients are told: how long they wait for a pong before resuming on a new
    /// connection. Shorter than the server's own: livekit-client up to 2.16 notices a dropped
    /// WebSocket only by this timeout, while its connection check gives up on the room ("state
    /// mismatch") after three failed checks 4 s apart, so with LiveKit's 15 s it never resumes
    /// after a cut connection. 7 s resumes first and leaves 2 s of slack over the 5 s interval.
    public static let clientPingTimeout: Int32 = 7

    public let roomName: String
    public let parameters: JoinParameters
    /// TURN servers (with this participant's credentials) for the JoinResponse.
    public let iceServers: [Livekit_ICEServer]
    private let rooms: RoomManager
    private let sink: any SignalSink
    private let logger: Logger
    private let nowMs: @Sendable () -> Int64
    public private(set) var participantSid: String?
    private var ended = false
    /// Tracks announced with AddTrackRequest and those published.
    public private(set) var publications = TrackPublications()
    /// What the participant may do: from its token, then as the API changes it.
    public private(set) var permission: Livekit_ParticipantPermission
    /// Last time anything arrived from the client, for the ping timeout.
    public private(set) var lastHeardMs: Int64
    /// When the watchdog last asked `isTimedOut()` (it asks every second).
    private var lastCheckedMs: Int64?
    /// A gap between two watchdog checks longer than this means the server itself did not run.
    public static let stallThresholdMs: Int64 = 3_000

    public init(roomName: String, parameters: JoinParameters, rooms: RoomManager, sink: any SignalSink, logger: Logger,
                iceServers: [Livekit_ICEServer] = [],
                nowMs: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.roomName = roomName
        self.parameters = parameters
        self.iceServers = iceServers
        self.rooms = rooms
        self.sink = sink
        self.logger = logger
        self.nowMs = nowMs
        self.lastHeardMs = nowMs()
        self.permission = parameters.permission
    }

    /// Joins the room and sends the JoinResponse, which LiveKit clients require as the first
    /// message: the room sends it in the turn that admits us, ahead of any update about others.
    public func start() async throws(JoinError) {
        let subscriberPrimary = parameters.grant.maySubscribe, iceServers = self.iceServers
        let outcome = try await rooms.join(roomName: roomName, parameters, sink: sink) { outcome in
            Self.joinResponse(outcome, subscriberPrimary: subscriberPrimary, iceServers: iceServers)
        }
        participantSid = outcome.participant.sid
    }

    static func joinResponse(_ outcome: JoinOutcome, subscriberPrimary: Bool,
                             iceServers: [Livekit_ICEServer] = []) -> Livekit_SignalResponse {
        var join = Livekit_JoinResponse()
        join.iceServers = iceServers
        join.room = outcome.room
        join.participant = outcome.participant
        join.otherParticipants = outcome.otherParticipants
        join.serverVersion = ServerIdentity.livekitCompatibleVersion
        join.serverInfo = ServerIdentity.serverInfo
        join.pingInterval = Self.pingInterval
        join.pingTimeout = Self.clientPingTimeout
        // LiveKit makes the subscriber connection primary for anyone who may subscribe.
        join.subscriberPrimary = subscriberPrimary
        var response = Livekit_SignalResponse()
        response.join = join
        return response
    }

    /// Something arrived from the client that is handled elsewhere (SDP, candidates): it still
    /// counts as a sign of life for the ping timeout.
    public func touch() {
        lastHeardMs = nowMs()
    }

    /// Handles one request from the client.
    public func handle(_ request: Livekit_SignalRequest) async {
        lastHeardMs = nowMs()
        guard let sid = participantSid, !ended else { return }
        switch request.message {
        case .pingReq(let ping):
            var pong = Livekit_Pong()
            pong.lastPingTimestamp = ping.timestamp
            pong.timestamp = nowMs()
            var response = Livekit_SignalResponse()
            response.pongResp = pong
            sink.send(response)
        case .ping:
            var response = Livekit_SignalResponse()
            response.pong = nowMs()
            sink.send(response)
        case .leave:
            await end(reason: .clientInitiated)
            sink.close()
        case .updateMetadata(let update):
            await updateOwnMetadata(update, sid: sid)
        case .addTrack(let add):
            switch publications.add(add, permission: permission) {
            case .success(let track):
                var response = Livekit_SignalResponse()
                response.trackPublished = Livekit_TrackPublishedResponse.with {
                    $0.cid = add.cid
                    $0.track = track
                }
                sink.send(response)
            case .failure(let refusal):
                logger.info("track refused", metadata: ["participant": "\(sid)", "cid": "\(add.cid)", "why": "\(refusal)"])
                var response = Livekit_SignalResponse()
                response.requestResponse = Livekit_RequestResponse.with {
                    switch refusal {
                    case .notAllowed(let why): $0.reason = .notAllowed; $0.message = why
                    case .invalid(let why): $0.reason = .invalidRequest; $0.message = why
                    }
                    $0.addTrack = add
                }
                sink.send(response)
            }
        case .mute(let mute):
            if publications.setMuted(sid: mute.sid, mute.muted) != nil {
                await rooms.setTracks(roomName: roomName, participantSid: sid, publications.publishedInOrder)
            }
        case .none:
            logger.debug("empty signal request", metadata: ["participant": "\(sid)"])
        case .some(let other):
            logger.debug("signal request not handled yet", metadata: ["participant": "\(sid)", "request": "\(Self.name(of: other))"])
        }
    }

    /// Publishes the tracks whose media appeared in the client's publisher offer (matched to
    /// its AddTrackRequests) and unpublishes those whose m-lines stopped; the room hears of both.
    /// Returns the m-lines that became tracks, with their TrackInfo.
    public func publisherMediaChanged(added: [PublisherMedia], removed: [String]) async
        -> [(line: Int, track: Livekit_TrackInfo)] {
        guard let sid = participantSid, !ended else { return [] }
        var bound: [(line: Int, track: Livekit_TrackInfo)] = []
        for media in added {
            if let track = publications.publish(msidTrackID: media.msidTrackID, type: media.type, mid: media.mid,
                                                mimeType: media.mimeType) {
                bound.append((media.line, track))
            } else {
                logger.info("offer m-line matches no AddTrackRequest; ignored",
                            metadata: ["participant": "\(sid)", "mid": "\(media.mid)", "msid": "\(media.msidTrackID)"])
            }
        }
        var unpublished: [String] = []
        for trackSid in removed where publications.unpublish(sid: trackSid) != nil {
            unpublished.append(trackSid)
            var response = Livekit_SignalResponse()
            response.trackUnpublished = Livekit_TrackUnpublishedResponse.with { $0.trackSid = trackSid }
            sink.send(response)
        }
        if !bound.isEmpty || !unpublished.isEmpty {
            await rooms.setTracks(roomName: roomName, participantSid: sid, publications.publishedInOrder)
        }
        return bound
    }

    /// Applies a permission the API set. Publishing taken away unpublishes what was published
    /// (LiveKit does the same); returns those track sids so the media side drops them too.
    public func applyPermission(_ new: Livekit_ParticipantPermission) async -> [String] {
        permission = new
        guard !new.canPublish, let sid = participantSid, !ended else { return [] }
        let removed = publications.publishedInOrder.map(\.sid)
        guard !removed.isEmpty else { return [] }
        for trackSid in removed {
            _ = publications.unpublish(sid: trackSid)
            var response = Livekit_SignalResponse()
            response.trackUnpublished = Livekit_TrackUnpublishedResponse.with { $0.trackSid = trackSid }
            sink.send(response)
        }
        await rooms.setTracks(roomName: roomName, participantSid: sid, [])
        return removed
    }

    /// The connection ended (closed by the client, dropped, or timed out).
    public func end(reason: Livekit_DisconnectReason) async {
        guard !ended else { return }
        ended = true
        if let sid = participantSid {
            await rooms.leave(roomName: roomName, participantSid: sid, reason: reason)
        }
    }

    /// True once the session ended (leave, removal, timeout).
    public var isEnded: Bool { ended }

    /// True when the client has been silent past the ping timeout. Meant to be asked every
    /// second or so (the signalling watchdog): a longer gap between two calls means the server
    /// itself did not run (starved of CPU on a loaded machine, suspended, clock jumped), and the
    /// client's pings from that time may still wait unread in its socket. The gap is not held
    /// against the client: otherwise, after any stall of 10 s or more, the watchdog could wake
    /// before the reader and drop clients that had pinged all along.
    public func isTimedOut() -> Bool {
        let now = nowMs()
        if let last = lastCheckedMs, now - last > Self.stallThresholdMs {
            lastHeardMs = min(now, lastHeardMs + (now - last))
        }
        lastCheckedMs = now
        return now - lastHeardMs > Int64(Self.pingTimeout) * 1000
    }

    private func updateOwnMetadata(_ update: Livekit_UpdateParticipantMetadata, sid: String) async {
        guard parameters.grant.canUpdateOwnMetadata ?? false else {
            reply(requestID: update.requestID, .notAllowed, "the token does not grant canUpdateOwnMetadata")
            return
        }
        do {
            _ = try await rooms.updateParticipant(
                roomName: roomName, sid: sid, name: update.name.isEmpty ? nil : update.name,
                metadata: update.metadata.isEmpty ? nil : update.metadata, attributes: update.attributes)
            reply(requestID: update.requestID, .ok, "")
        } catch {
            reply(requestID: update.requestID, .notFound, error.description)
        }
    }

    private func reply(requestID: UInt32, _ reason: Livekit_RequestResponse.Reason, _ message: String) {
        guard requestID != 0 || reason != .ok else { return }
        var response = Livekit_SignalResponse()
        response.requestResponse = Livekit_RequestResponse.with {
            $0.requestID = requestID
            $0.reason = reason
            $0.message = message
        }
        sink.send(response)
    }

    static func name(of message: Livekit_SignalRequest.OneOf_Message) -> String {
        String(describing: message).prefix { $0 != "(" }.description
    }
}
