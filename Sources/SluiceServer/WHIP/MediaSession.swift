import LiveKitProto
import Logging
import Media
import SFU
import Synchronization
import WebRTC

/// Adapts a `PeerConnection` to the SFU's `MediaTransport` (the SFU does not import WebRTC).
final class PeerConnectionMediaTransport: MediaTransport {
    weak var connection: PeerConnection?

    init(_ connection: PeerConnection) { self.connection = connection }

    @inline(__always)
    func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool { connection?.sendRTP(packet) ?? false }
    func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool { connection?.sendRTCP(packet) ?? false }
}

/// One WHIP (publisher) or WHEP (subscriber) session: a PeerConnection joined to an SFU room as a
/// participant. Created by `MediaSessions`; after creation every member is touched only on the
/// room's media worker (hence `@unchecked Sendable`: the reference crosses threads, its state
/// does not).
final class MediaSession: PeerConnectionDelegate, @unchecked Sendable {
    /// LiveKit's view of what this WHIP publisher publishes, readable from any thread.
    let publishedTrackInfos = Mutex<[Livekit_TrackInfo]>([])

    enum Role: Sendable, Equatable {
        case publisher
        case subscriber(publisherIdentity: String)
    }

    let id: String
    let roomName: String
    let identity: String
    let role: Role
    let worker: MediaWorker
    let room: SFU.Room
    let logger: Logger
    /// Told (once, on the worker) when the session ends by itself or is closed.
    let onClosed: @Sendable (MediaSession) -> Void

    // Loop-confined state.
    private(set) var connection: PeerConnection?
    private(set) var participant: SFU.Participant?
    private var transportAdapter: PeerConnectionMediaTransport?
    private var tracksByMedia: [PublishedTrack?] = []
    private(set) var isClosed = false

    init(id: String, roomName: String, identity: String, role: Role, worker: MediaWorker, room: SFU.Room,
         logger: Logger, onClosed: @escaping @Sendable (MediaSession) -> Void) {
        self.id = id
        self.roomName = roomName
        self.identity = identity
        self.role = role
        self.worker = worker
        self.room = room
        self.logger = logger
        self.onClosed = onClosed
    }

    // MARK: Setup (on the worker)

    /// Creates the PeerConnection and starts gathering.
    func open(offer: SessionDescription, certificate: DTLSCertificate, localAddresses: [String],
              portRange: ClosedRange<UInt16>?) throws {
        worker.preconditionIsCurrent()
        let connection = try PeerConnection(worker: worker, certificate: certificate, offer: offer,
                                            localAddresses: localAddresses, portRange: portRange)
        connection.delegate = self
        self.connection = connection
    }

    var isGatheringDone: Bool { connection?.isGatheringDone ?? true }

    /// Answers as a publisher: every negotiated m-line becomes a published track of the room.
    func answerAsPublisher() throws -> String {
        guard let connection else { throw NegotiationError.noUsableMedia("session closed") }
        let answer = try connection.answer(mode: .receive)
        let adapter = PeerConnectionMediaTransport(connection)
        transportAdapter = adapter
        // Everything here is confined to the room's worker; the compiler cannot see that the
        // isolated closure runs synchronously on this thread.
        nonisolated(unsafe) let participant = SFU.Participant(identity: identity, transport: adapter)
        self.participant = participant
        // By m-line index, as the connection reports inbound RTP.
        nonisolated(unsafe) var tracks = [PublishedTrack?](repeating: nil, count: connection.offer?.mediaSections.count ?? 0)
        let negotiated = connection.negotiated
        room.assumeIsolated { room in
            room.join(participant)
            for media in negotiated {
                let codec = TrackCodec(name: media.codec.name, payloadType: media.codec.payloadType,
                                       clockRate: media.codec.clockRate, channels: media.codec.channels,
                                       parameters: media.codec.parameters)
                tracks[media.index] = room.publish(participant, kind: media.kind == .audio ? .audio : .video,
                                                   codec: codec, ssrc: media.remoteSSRCs.first)
                // Our transport says when each receive batch ends (flushed below).
                tracks[media.index]?.defersFanOut = true
            }
        }
        tracksByMedia = tracks
        publishedTrackInfos.withLock { infos in
            infos = tracks.compactMap { $0 }.map { track in
                Livekit_TrackInfo.with {
                    $0.sid = track.id
                    $0.type = track.kind == .audio ? .audio : .video
                    $0.source = track.kind == .audio ? .microphone : .camera
                    $0.mimeType = (track.kind == .audio ? "audio/" : "video/") + track.codec.name
                    $0.name = track.kind == .audio ? "audio" : "video"
                }
            }
        }
        return answer.sdp
    }

    /// What a subscriber can be sent: the published tracks of `publisher`.
    static func outgoingTracks(of publisher: SFU.Participant) -> [OutgoingTrack] {
        publisher.publishedTracks.map { track in
            OutgoingTrack(kind: track.kind == .audio ? .audio : .video, codecName: track.codec.name,
                          codecParameters: track.codec.parameters, ssrc: UInt32.random(in: 1...UInt32.max),
                          streamID: publisher.identity, trackID: track.id, cname: "sluice", tag: track.id)
        }
    }

    /// Answers as a subscriber of `publisherIdentity`: a DownTrack per negotiated m-line.
    func answerAsSubscriber(publisherIdentity: String) throws -> String {
        guard let found = connection else { throw NegotiationError.noUsableMedia("session closed") }
        // Confined to the room's worker (see answerAsPublisher).
        nonisolated(unsafe) let connection = found
        let adapter = PeerConnectionMediaTransport(connection)
        nonisolated(unsafe) let participant = SFU.Participant(identity: identity, transport: adapter)
        nonisolated(unsafe) var answerText = ""
        // One isolated section: the publisher's tracks cannot change between the answer and the
        // subscriptions made from it.
        try room.assumeIsolated { room in
            guard let publisher = room.publisher(identity: publisherIdentity) else {
                throw MediaSessionError.publisherGone(publisherIdentity)
            }
            let answer = try connection.answer(mode: .send(tracks: Self.outgoingTracks(of: publisher)))
            room.join(participant)
            for media in connection.negotiated {
                guard let sending = media.sending,
                      let track = publisher.publishedTracks.first(where: { $0.id == sending.tag }) else { continue }
                room.subscribe(participant, to: track, ssrc: sending.ssrc, payloadType: media.codec.payloadType)
            }
            answerText = answer.sdp
        }
        transportAdapter = adapter
        self.participant = participant
        tracksByMedia = []
        return answerText
    }

    /// Ends the session: leaves the room, closes the transport, drops everything. Idempotent.
    func close() {
        worker.preconditionIsCurrent()
        guard !isClosed else { return }
        isClosed = true
        if let found = participant {
            nonisolated(unsafe) let participant = found
            room.assumeIsolated { $0.leave(participant) }
        }
        participant = nil
        tracksByMedia = []
        connection?.delegate = nil
        connection?.close()
        connection = nil
        transportAdapter = nil
        onClosed(self)
    }

    // MARK: PeerConnectionDelegate (on the worker)

    func peerConnection(_ connection: PeerConnection, didChangeState state: PeerTransport.State) {
        switch state {
        case .connected:
            if let found = participant {
                nonisolated(unsafe) let participant = found
                room.assumeIsolated { $0.activate(participant) }
            }
            logger.info("media session connected", metadata: [
                "session": "\(id)", "room": "\(roomName)", "identity": "\(identity)",
                "srtp": "\(connection.transport.srtpProfile.map { "\($0)" } ?? "-")"])
        case .failed(let why):
            logger.info("media session failed", metadata: ["session": "\(id)", "reason": "\(why)"])
            close()
        case .closed:
            close()
        case .new, .connecting, .securing:
            break
        }
    }

    @inline(__always)
    func peerConnection(_ connection: PeerConnection, didReceiveRTP packet: UnsafeMutableRawBufferPointer, media: Int,
                        layer: Int) {
        guard media < tracksByMedia.count, let found = tracksByMedia[media] else { return }
        // Not `assumeIsolated`: its closure context costs two allocations per packet.
        room.receiveRTPOnExecutor(packet, track: found)
    }

    func peerConnectionDidFinishReceivingRTP(_ connection: PeerConnection) {
        room.flushFanOutOnExecutor(tracksByMedia)
    }

    func peerConnection(_ connection: PeerConnection, didReceiveRTCP packet: UnsafeMutableRawBufferPointer) {
        guard let found = participant else { return }
        // Not `assumeIsolated`: its closure context costs two allocations per packet.
        room.receiveRTCPOnExecutor(UnsafeRawBufferPointer(packet), from: found)
    }
}

enum MediaSessionError: Error, CustomStringConvertible {
    case publisherGone(String)
    case gatheringTimedOut

    var description: String {
        switch self {
        case .publisherGone(let identity): "participant \(identity) publishes nothing here"
        case .gatheringTimedOut: "ICE candidate gathering timed out"
        }
    }
}
