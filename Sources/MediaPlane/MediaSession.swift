import LiveKitProto
import Logging
import Media
import SFU
import Signal
import Synchronization
import WebRTC

/// One WHIP (publisher) or WHEP (subscriber) session: a PeerConnection joined to an SFU room as a
/// participant, and once the RoomManager admits it (`enroll`), a member of the room's hub like
/// any LiveKit client: LiveKit viewers receive a WHIP publisher's tracks, and a WHEP viewer's
/// subscriptions count for dynacast. Created by `MediaSessions`; after creation every member is
/// touched only on the room's media worker (hence `@unchecked Sendable`: the reference crosses
/// threads, its state does not).
public final class MediaSession: RoomMember, PeerConnectionDelegate, @unchecked Sendable {
    /// LiveKit's view of what this WHIP publisher publishes, readable from any thread.
    public let publishedTrackInfos = Mutex<[Livekit_TrackInfo]>([])

    public enum Role: Sendable, Equatable {
        case publisher
        case subscriber(publisherIdentity: String)
    }

    public let id: String
    public let roomName: String
    public let identity: String
    public let role: Role
    public let worker: MediaWorker
    public let room: SFU.Room
    public let hub: RoomMediaHub
    public let logger: Logger
    /// The layer a WHEP viewer receives of simulcast video.
    public let quality: LayerSelector.Quality
    /// Told (once, on the worker) when the session ends by itself or is closed.
    public let onClosed: @Sendable (MediaSession) -> Void

    // Loop-confined state.
    public private(set) var connection: PeerConnection?
    private var sfuParticipant: SFU.Participant?
    private var transportAdapter: PeerConnectionMediaTransport?
    private var published = PublishedLines()
    public private(set) var isClosed = false
    /// Set by `enroll`: the LiveKit sid, grants, and membership of the hub.
    public private(set) var sid = ""
    public private(set) var permission = Livekit_ParticipantPermission()
    private var isEnrolled = false

    public init(id: String, roomName: String, identity: String, role: Role, quality: LayerSelector.Quality = .high,
         worker: MediaWorker, hub: RoomMediaHub, logger: Logger, onClosed: @escaping @Sendable (MediaSession) -> Void) {
        self.id = id
        self.roomName = roomName
        self.identity = identity
        self.role = role
        self.quality = quality
        self.worker = worker
        self.room = hub.room
        self.hub = hub
        self.logger = logger
        self.onClosed = onClosed
    }

    // MARK: Setup (on the worker)

    /// Creates the PeerConnection and starts gathering.
    public func open(offer: SessionDescription, certificate: DTLSCertificate, localAddresses: [String],
              portRange: ClosedRange<UInt16>?, tcp: Bool = false) throws {
        worker.preconditionIsCurrent()
        let connection = try PeerConnection(worker: worker, certificate: certificate, offer: offer,
                                            localAddresses: localAddresses, portRange: portRange, tcp: tcp)
        connection.delegate = self
        self.connection = connection
    }

    public var isGatheringDone: Bool { connection?.isGatheringDone ?? true }

    /// Answers as a publisher: every negotiated m-line becomes a published track of the room.
    public func answerAsPublisher() throws -> String {
        guard let connection else { throw NegotiationError.noUsableMedia("session closed") }
        let answer = try connection.answer(mode: .receive)
        let adapter = PeerConnectionMediaTransport(connection)
        transportAdapter = adapter
        let participant = SFU.Participant(identity: identity, transport: adapter)
        sfuParticipant = participant
        var lines = PublishedLines()
        room.join(participant)
        for media in connection.negotiated {
            // An encoder's simulcast rids become layers as a LiveKit client's do.
            let track = room.publish(participant, kind: media.kind == .audio ? .audio : .video,
                                     codec: TrackCodec(media.codec), ssrc: media.remoteSSRCs.first,
                                     layers: PublishedLines.layers(rids: media.rids))
            track.audioLevelExtensionID = media.audioLevelExtensionID
            // Our transport says when each receive batch ends (flushed below).
            track.defersFanOut = true
            lines.bind(track, line: media.index, rids: media.rids)
        }
        published = lines
        let tracks = lines.tracks
        publishedTrackInfos.withLock { infos in
            infos = tracks.compactMap { $0 }.map { track in
                Livekit_TrackInfo.with {
                    $0.sid = track.id
                    $0.type = track.kind == .audio ? .audio : .video
                    $0.source = track.kind == .audio ? .microphone : .camera
                    $0.mimeType = (track.kind == .audio ? "audio/" : "video/") + track.codec.name
                    $0.name = track.kind == .audio ? "audio" : "video"
                    $0.simulcast = track.layerCount > 1
                }
            }
        }
        return answer.sdp
    }

    /// What a subscriber can be sent: the published tracks of `publisher`.
    public static func outgoingTracks(of publisher: SFU.Participant) -> [OutgoingTrack] {
        publisher.publishedTracks.map { track in
            OutgoingTrack(kind: track.kind == .audio ? .audio : .video, codecName: track.codec.name,
                          codecParameters: track.codec.parameters, ssrc: UInt32.random(in: 1...UInt32.max),
                          streamID: publisher.identity, trackID: track.id, cname: "sluice", tag: track.id)
        }
    }

    /// Answers as a subscriber of `publisherIdentity` (any door's publisher): a DownTrack per
    /// negotiated m-line, simulcast video at the session's `quality`.
    public func answerAsSubscriber(publisherIdentity: String) throws -> String {
        guard let connection else { throw NegotiationError.noUsableMedia("session closed") }
        let adapter = PeerConnectionMediaTransport(connection)
        let participant = SFU.Participant(identity: identity, transport: adapter)
        // On the room's worker, the publisher's tracks cannot change between the answer and the
        // subscriptions made from it.
        guard let publisher = room.publisher(identity: publisherIdentity) else {
            throw MediaSessionError.publisherGone(publisherIdentity)
        }
        let answer = try connection.answer(mode: .send(tracks: Self.outgoingTracks(of: publisher)))
        room.join(participant)
        for media in connection.negotiated {
            guard let sending = media.sending,
                  let track = publisher.publishedTracks.first(where: { $0.id == sending.tag }) else { continue }
            let downTrack = room.subscribe(participant, to: track, ssrc: sending.ssrc,
                                           payloadType: media.codec.payloadType)
            if track.kind == .video { room.setSettings(.quality(quality), for: downTrack) }
        }
        transportAdapter = adapter
        sfuParticipant = participant
        published = PublishedLines()
        return answer.sdp
    }

    // MARK: Room membership (on the worker)

    /// The RoomManager admitted this session as participant `sid`: it joins the hub, so LiveKit
    /// viewers receive what it publishes and its subscriptions count for dynacast.
    public func enroll(sid: String, permission: Livekit_ParticipantPermission) {
        worker.preconditionIsCurrent()
        guard !isClosed, !isEnrolled, sfuParticipant != nil else { return }
        self.sid = sid
        self.permission = permission
        isEnrolled = true
        hub.add(self)
        for track in publishedTracks { hub.published(track, by: self) }
        for downTrack in participant.downTracks { hub.announceWantedLayers(of: downTrack.track) }
    }

    public var participant: SFU.Participant {
        // Enrolled sessions have answered, which made their SFU participant.
        guard let sfuParticipant else { preconditionFailure("media session \(id) has not answered") }
        return sfuParticipant
    }

    public var door: MemberDoor { role == .publisher ? .whip : .whep }

    /// A WHEP viewer receives what its one offer asked for; a WHIP encoder receives nothing.
    public var autoSubscribe: Bool { false }
    public var canSubscribe: Bool { false }
    public var subscribedTrackSids: [String] { sfuParticipant?.downTracks.map(\.track.id) ?? [] }

    public func subscribe(to track: PublishedTrack, publisher: any RoomMember) {}

    public func unsubscribe(trackSid: String, track: PublishedTrack?) {
        guard let track, let participant = sfuParticipant else { return }
        let subscriber = participant
        let ended = track
        room.unsubscribe(subscriber, from: ended)
    }

    public func negotiateSubscriber() {}
    public func announceWantedLayers(of track: PublishedTrack) {}
    public func announceDueLayers(now: UInt64) {}
    public func deliver(_ bytes: [UInt8], reliable: Bool) {}
    /// WHIP and WHEP have no signalling channel after the answer.
    public func roomEvent(_ event: MediaRoomEvent) {}

    public func logSubscriptionStats() {
        for downTrack in sfuParticipant?.downTracks ?? [] {
            logger.info("subscription stats", metadata: [
                "session": "\(id)", "identity": "\(identity)", "track": "\(downTrack.track.id)",
                "packets": "\(downTrack.packetsSent)", "nackRetransmits": "\(downTrack.retransmissions)",
                "layerSwitches": "\(downTrack.layerSwitches)"])
        }
    }

    /// Ends the session: leaves the room (through the hub once enrolled, so LiveKit viewers
    /// renegotiate), closes the transport, drops everything. Idempotent; the hub calls it back
    /// while removing an enrolled session, which then returns at once.
    public func close() {
        worker.preconditionIsCurrent()
        guard !isClosed else { return }
        isClosed = true
        if isEnrolled {
            isEnrolled = false
            hub.remove(self)
        } else if let participant = sfuParticipant {
            room.leave(participant)
        }
        sfuParticipant = nil
        published = PublishedLines()
        connection?.delegate = nil
        connection?.close()
        connection = nil
        transportAdapter = nil
        onClosed(self)
    }

    // MARK: PeerConnectionDelegate (on the worker)

    public func peerConnection(_ connection: PeerConnection, didChangeState state: PeerTransport.State) {
        switch state {
        case .connected:
            if let participant = sfuParticipant { room.activate(participant) }
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
    public func peerConnection(_ connection: PeerConnection, didReceiveRTP packet: UnsafeMutableRawBufferPointer, media: Int,
                        layer: Int) {
        guard let (track, trackLayer) = published.route(media: media, ridIndex: layer) else { return }
        room.receiveRTP(packet, track: track, layer: trackLayer)
    }

    public func peerConnectionDidFinishReceivingRTP(_ connection: PeerConnection) {
        room.flushFanOut(published.tracks)
    }

    public func peerConnection(_ connection: PeerConnection, didReceiveRTCP packet: UnsafeMutableRawBufferPointer) {
        guard let participant = sfuParticipant else { return }
        room.receiveRTCP(UnsafeRawBufferPointer(packet), from: participant)
    }
}
