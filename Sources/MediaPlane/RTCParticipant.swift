import Foundation
import LiveKitProto
import Logging
import Media
import SFU
import Signal
import WebRTC

/// The media side of one LiveKit participant: its two peer connections (publisher: the client
/// offers and sends; subscriber: we offer and send), its SFU participant, and its data channels.
/// With a single peer connection (`/rtc/v1`) the publisher connection carries everything: the
/// client offers its tracks and recvonly slots, and we answer our tracks on those slots.
///
/// Everything here runs on the room's media worker (hence `@unchecked Sendable`: the reference
/// crosses threads, its state does not). Signalling messages it originates (subscriber offers)
/// go straight to the participant's `SignalSink`.
public final class RTCParticipant: RoomMember, PeerConnectionDelegate, @unchecked Sendable {
    /// One m-line of the subscriber connection after the data m-line.
    struct SubscriberLine {
        /// Single peer connection: empty until one of the client's recvonly slots is assigned.
        var mid: String
        var kind: NegotiatedKind
        var codec: NegotiatedCodec
        /// Nil once the track went away (the m-line stays, inactive).
        var trackSid: String?
        var publisherSid: String
        var ssrc: UInt32
        /// Video: the SSRC its retransmissions go out on when the client accepts RTX.
        var rtxSSRC: UInt32?
        var downTrack: DownTrack?
        /// The client has answered an offer that contains this line's track.
        var answered = false
        /// Included in the offer in flight.
        var offered = false
        /// Single peer connection: the track, until its DownTrack exists (made once the slot's
        /// payload type is known, with the settings asked for meanwhile).
        var pendingTrack: PublishedTrack?
        var pendingSettings: LayerSelector.Settings?
    }

    public let sid: String
    public var door: MemberDoor { .livekit }
    public let identity: String
    public let roomName: String
    public private(set) var permission: Livekit_ParticipantPermission
    public let autoSubscribe: Bool
    public let worker: MediaWorker
    public let room: SFU.Room
    public let sink: any SignalSink
    public let logger: Logger
    /// Weak: the hub holds its members, and a participant may outlive its hub's room (a message
    /// from its client after its media closed and a spread room left its worker finds no hub).
    public private(set) weak var hub: RoomMediaHub?
    /// Told once when a peer connection first connects (the participant becomes ACTIVE).
    public var onConnected: (@Sendable () -> Void)?
    /// Told once when a peer connection fails for good (the session should end).
    public var onFailed: (@Sendable (String) -> Void)?

    public let participant: SFU.Participant
    private let publisherAdapter: PeerConnectionMediaTransport
    private let subscriberAdapter: PeerConnectionMediaTransport
    public let publisher: PeerConnection
    /// Nil with a single peer connection.
    public let subscriber: PeerConnection?
    /// `/rtc/v1`: one peer connection, the client always offers.
    public let singlePeerConnection: Bool
    /// Single peer connection: a MediaSectionsRequirement was sent and its offer has not come.
    private var requirementPending = false
    /// Single peer connection: we may ask for offers (after answering the first one, or at once
    /// when the join request carried none).
    private var answeredOnce = false
    /// Single peer connection: the recvonly m-lines (mid, kind) of the client's last offer.
    private var receiveSlots: [(mid: String, kind: NegotiatedKind)] = []

    // Publisher side, by m-line index.
    private var published = PublishedLines()
    private var unbound: [Int: NegotiatedMedia] = [:]
    /// Dynacast: what we last told this publisher about each of its video tracks.
    private var dynacast = DynacastAnnouncer()

    // Subscriber side.
    private(set) var lines: [SubscriberLine] = []
    private var offerInFlight = false
    private var needsOffer = false
    private var offerID: UInt32 = 0
    private var reliableOut: DataChannel?
    private var lossyOut: DataChannel?
    private var pendingReliable: [[UInt8]] = []
    private var connectedOnce = false
    public private(set) var isClosed = false

    /// Publisher packets dropped at a full receive queue, told to the log at most every 10 s.
    private var dropNotices = ReceiveDropNotices()

    /// Counters (read on the worker).
    public private(set) var malformedDataPackets = 0
    public private(set) var refusedDataPackets = 0

    static let dataMid = "0"
    static let maxPendingReliable = 256

    public init(sid: String, identity: String, roomName: String, permission: Livekit_ParticipantPermission, autoSubscribe: Bool,
         hub: RoomMediaHub, sink: any SignalSink, certificate: DTLSCertificate, localAddresses: [String],
         portRange: ClosedRange<UInt16>?, tcp: Bool = false, singlePeerConnection: Bool = false, logger: Logger) throws {
        hub.worker.preconditionIsCurrent()
        self.sid = sid
        self.identity = identity
        self.roomName = roomName
        self.permission = permission
        self.autoSubscribe = autoSubscribe
        self.hub = hub
        self.worker = hub.worker
        self.room = hub.room
        self.sink = sink
        self.logger = logger
        publisher = try PeerConnection(worker: hub.worker, certificate: certificate, answeringOn: localAddresses,
                                       portRange: portRange, tcp: tcp)
        self.singlePeerConnection = singlePeerConnection
        publisherAdapter = PeerConnectionMediaTransport(publisher)
        if singlePeerConnection {
            subscriber = nil
            subscriberAdapter = publisherAdapter
        } else {
            let subscriber = try PeerConnection(worker: hub.worker, certificate: certificate, offeringOn: localAddresses,
                                                portRange: portRange, tcp: tcp)
            self.subscriber = subscriber
            subscriberAdapter = PeerConnectionMediaTransport(subscriber)
        }
        participant = SFU.Participant(sid: sid, identity: identity, publisherTransport: publisherAdapter,
                                      subscriberTransport: subscriberAdapter)
        publisher.delegate = self
        subscriber?.delegate = self
    }

    public var isGatheringDone: Bool { publisher.isGatheringDone && (subscriber?.isGatheringDone ?? true) }

    /// The connection our tracks go out on.
    private var sendingConnection: PeerConnection { subscriber ?? publisher }
    public var canSubscribe: Bool { permission.canSubscribe }

    // MARK: Publisher connection (the client offers)

    /// Answers the client's publisher offer. Returns the answer and the m-lines that appeared
    /// (to be matched with AddTrackRequests); m-lines that stopped unpublish their tracks, whose
    /// sids are returned.
    public func answerPublisher(sdp: String) throws -> (answer: String, added: [PublisherMedia], removed: [String],
                                                       midToTrackID: [String: String]) {
        let offer = try SessionDescription(parsing: sdp)
        var mode = SDPAnswerer.Mode.receive
        var midToTrackID: [String: String] = [:]
        if singlePeerConnection {
            let sending = assignReceiveSlots(of: offer)
            mode = .publishAndSubscribe(sending: sending)
            midToTrackID = sending.mapValues(\.trackID)
        }
        let answer = try publisher.answer(offer: offer, mode: mode, acceptData: true)
        // Both descriptions in full at trace level (`logging.level: trace`): what a client
        // offered and what it was answered is the first thing to read when a codec, RTX or an
        // extension is missing; ~10 KB each, too much for debug logs.
        logger.trace("publisher offer answered", metadata: ["participant": "\(sid)", "offer": "\(sdp)", "answer": "\(answer)"])
        if singlePeerConnection {
            answeredSlots()
            // What we send on this connection carries transport-wide sequence numbers when the
            // client's offer allowed them on the m-lines we send on.
            participant.sendHistory.extensionID = publisher.negotiated
                .first { $0.sending != nil && $0.transportCCExtensionID != nil }?.transportCCExtensionID ?? 0
        }
        published.grow(to: offer.mediaSections.count)
        var added: [PublisherMedia] = []
        var removed: [String] = []
        for index in offer.mediaSections.indices {
            let media = publisher.negotiatedMedia(at: index)
            let receiving = media.map { $0.direction == .recvonly } ?? false
            if let track = published[index] {
                if !receiving {
                    removed.append(track.id)
                    published.unbind(line: index)
                    hub?.unpublished(track, by: self)
                }
                continue
            }
            if receiving, let media, unbound[index] == nil {
                unbound[index] = media
                let section = offer.mediaSections[index]
                added.append(PublisherMedia(
                    line: index, mid: media.mid, type: media.kind == .audio ? .audio : .video,
                    msidTrackID: section.msids.first?.trackID ?? section.ssrcList.first.flatMap { section.ssrcAttribute("msid", for: $0) }?
                        .split(separator: " ").last.map(String.init) ?? "",
                    mimeType: "\(media.kind.rawValue)/\(media.codec.name)"))
            } else if !receiving {
                unbound[index] = nil
            }
        }
        return (answer.sdp, added, removed, midToTrackID)
    }

    // MARK: Single peer connection: our tracks on the client's recvonly m-lines

    /// Gives each subscription waiting for a slot one of the offer's free recvonly m-lines of its
    /// kind; returns what to send on each assigned m-line.
    private func assignReceiveSlots(of offer: SessionDescription) -> [String: OutgoingTrack] {
        requirementPending = false
        receiveSlots = offer.mediaSections.enumerated().compactMap { index, section in
            guard !section.isRejected, section.direction == .recvonly, let kind = NegotiatedKind(rawValue: section.kind) else {
                return nil
            }
            return (section.mid ?? String(index), kind)
        }
        var free = freeSlots()
        for index in lines.indices where lines[index].mid.isEmpty && lines[index].trackSid != nil {
            guard let at = free.firstIndex(where: { $0.kind == lines[index].kind }) else { continue }
            lines[index].mid = free.remove(at: at).mid
        }
        var sending: [String: OutgoingTrack] = [:]
        for line in lines where !line.mid.isEmpty {
            guard let trackSid = line.trackSid else { continue }
            sending[line.mid] = OutgoingTrack(kind: line.kind, codecName: line.codec.name, codecParameters: line.codec.parameters,
                                              ssrc: line.ssrc, rtxSSRC: line.rtxSSRC, streamID: "\(line.publisherSid)|\(trackSid)", trackID: trackSid,
                                              cname: line.publisherSid, tag: trackSid)
        }
        return sending
    }

    /// The recvonly m-lines of the last offer that no subscription holds (an ended one holds its
    /// m-line until an answer has made it inactive).
    private func freeSlots() -> [(mid: String, kind: NegotiatedKind)] {
        let held = Set(lines.map(\.mid).filter { !$0.isEmpty })
        return receiveSlots.filter { !held.contains($0.mid) }
    }

    /// After answering: DownTracks for the newly assigned m-lines (with the payload type the
    /// client offered there); ended subscriptions give their m-lines back.
    private func answeredSlots() {
        answeredOnce = true
        var index = 0
        while index < lines.count {
            let line = lines[index]
            if line.trackSid == nil {
                // Its m-line was answered inactive just now: free for another track.
                lines.remove(at: index)
                continue
            }
            if !line.mid.isEmpty, line.downTrack == nil, let track = line.pendingTrack {
                if let media = publisher.negotiated.first(where: { $0.mid == line.mid }), media.sending != nil {
                    let downTrack = room.subscribe(participant, to: track, ssrc: line.ssrc, payloadType: media.codec.payloadType)
                    downTrack.hidesHeaderExtensions = true
                    if let rtx = media.codec.rtxPayloadType, let rtxSSRC = media.sending?.rtxSSRC {
                        downTrack.retransmissionStream = RetransmissionStream(payloadType: rtx, ssrc: rtxSSRC)
                    }
                    downTrack.onStreamStateChange = streamStateReporter(publisherSid: line.publisherSid, trackSid: track.id)
                    if let settings = line.pendingSettings { room.setSettings(settings, for: downTrack) }
                    lines[index].downTrack = downTrack
                    lines[index].pendingTrack = nil
                    lines[index].pendingSettings = nil
                    lines[index].answered = true
                    hub?.announceWantedLayers(of: track)
                } else {
                    // The slot cannot carry this track's codec: wait for another.
                    lines[index].mid = ""
                }
            }
            index += 1
        }
        activateAnsweredDownTracks()
    }

    /// Single peer connection whose join request carried no offer (a client that cannot gzip
    /// offers only once asked to, or once it publishes): subscriptions ask for offers from now on.
    public func expectNoInitialOffer() {
        answeredOnce = true
        requestSlots()
    }

    /// Asks the client for an offer (MediaSectionsRequirement) when a subscription waits for a
    /// slot or an ended one must go inactive; the count is the slots its next offer must add.
    private func requestSlots() {
        guard answeredOnce, !requirementPending, !isClosed else { return }
        let waiting = lines.filter { $0.mid.isEmpty && $0.trackSid != nil }
        let ended = lines.contains { $0.trackSid == nil }
        guard !waiting.isEmpty || ended else { return }
        let free = freeSlots()
        func missing(_ kind: NegotiatedKind) -> UInt32 {
            UInt32(max(0, waiting.filter { $0.kind == kind }.count - free.filter { $0.kind == kind }.count))
        }
        requirementPending = true
        var response = Livekit_SignalResponse()
        response.mediaSectionsRequirement = Livekit_MediaSectionsRequirement.with {
            $0.numAudios = missing(.audio)
            $0.numVideos = missing(.video)
        }
        sink.send(response)
    }

    /// Publishes the matched m-lines as SFU tracks with their LiveKit sids; the room's other
    /// participants subscribe.
    public func bind(_ bindings: [(line: Int, track: Livekit_TrackInfo)]) {
        for (line, info) in bindings {
            guard let media = unbound.removeValue(forKey: line) else { continue }
            let codec = TrackCodec(media.codec)
            // Simulcast: sizes come from the AddTrackRequest's layers.
            let layers = PublishedLines.layers(rids: media.rids) { index in
                info.layers.first { $0.quality.rawValue == index }.map { (Int($0.width), Int($0.height)) }
            }
            let track = room.publish(participant, kind: media.kind == .audio ? .audio : .video, codec: codec,
                                     ssrc: media.remoteSSRCs.first, layers: layers, id: info.sid)
            track.audioLevelExtensionID = media.audioLevelExtensionID
            // A shared screen (text, slides) goes before cameras in each viewer's allocation.
            track.isScreenShare = info.source == .screenShare
            // Our transport says when each receive batch ends (flushed below).
            track.defersFanOut = true
            published.bind(track, line: line, rids: media.rids)
            hub?.published(track, by: self)
        }
    }

    /// Dynacast: tells this publisher which layers of `track` someone needs, when that changed
    /// (a layer no longer needed is told later, by `announceDueLayers`).
    public func announceWantedLayers(of track: PublishedTrack) {
        guard track.kind == .video, !isClosed else { return }
        if let announcement = dynacast.wanted(track.highestWantedLayer, trackID: track.id, now: room.clock()) {
            sendSubscribedQuality(announcement, codec: track.codec.name)
        }
    }

    /// Dynacast: the delayed announcements (layers no longer needed) whose time has come.
    public func announceDueLayers(now: UInt64) {
        guard !isClosed else { return }
        let tracks = publishedTracks
        dynacast.keep(only: Set(tracks.map(\.id)))
        for announcement in dynacast.due(now: now) {
            guard let track = tracks.first(where: { $0.id == announcement.trackID }) else { continue }
            sendSubscribedQuality(announcement, codec: track.codec.name)
        }
    }

    private func sendSubscribedQuality(_ announcement: DynacastAnnouncer.Announcement, codec: String) {
        let qualities = (0..<3).map { quality in
            Livekit_SubscribedQuality.with {
                $0.quality = Livekit_VideoQuality(rawValue: quality) ?? .low
                $0.enabled = announcement.isEnabled(quality)
            }
        }
        var response = Livekit_SignalResponse()
        response.subscribedQualityUpdate = Livekit_SubscribedQualityUpdate.with {
            $0.trackSid = announcement.trackID
            $0.subscribedQualities = qualities
            // JS clients read only subscribed_codecs.
            $0.subscribedCodecs = [Livekit_SubscribedCodec.with {
                $0.codec = codec.lowercased()
                $0.qualities = qualities
            }]
        }
        sink.send(response)
    }

    /// A permission the API set: subscribing or publishing taken away ends what depended on it.
    public func applyPermission(_ new: Livekit_ParticipantPermission, unpublished: [String]) {
        permission = new
        for trackSid in unpublished { unpublish(trackSid: trackSid) }
        if !new.canSubscribe {
            let sids = subscribedTrackSids
            hub?.setSubscribed(self, trackSids: sids, subscribe: false)
        }
    }

    /// Unpublishes a track the client no longer sends (signalled, not from SDP).
    public func unpublish(trackSid: String) {
        guard let line = published.line(ofTrack: trackSid), let track = published.unbind(line: line) else { return }
        hub?.unpublished(track, by: self)
    }

    // MARK: Subscriber connection (we offer)

    /// Adds a DownTrack of `track` and an m-line for it (sent with the next offer).
    public func subscribe(to track: PublishedTrack, publisher: any RoomMember) {
        guard !lines.contains(where: { $0.trackSid == track.id }) else { return }
        let ssrc = UInt32.random(in: 1...UInt32.max)
        var downTrack: DownTrack?
        if !singlePeerConnection {
            let made = room.subscribe(participant, to: track, ssrc: ssrc, payloadType: track.codec.payloadType)
            made.onStreamStateChange = streamStateReporter(publisherSid: publisher.sid, trackSid: track.id)
            downTrack = made
        }
        var feedback: [SDPRTCPFeedback] = []
        if track.kind == .video {
            let pt = track.codec.payloadType
            feedback = [SDPRTCPFeedback(payloadType: pt, type: "nack", parameter: nil),
                        SDPRTCPFeedback(payloadType: pt, type: "nack", parameter: "pli"),
                        SDPRTCPFeedback(payloadType: pt, type: "ccm", parameter: "fir")]
        }
        let rtxPayloadType = track.kind == .video ? Self.rtxPayloadType(repairing: track.codec.payloadType, besides: lines) : nil
        let codec = NegotiatedCodec(payloadType: track.codec.payloadType, name: track.codec.name,
                                    clockRate: track.codec.clockRate, channels: track.codec.channels,
                                    parameters: track.codec.parameters, feedback: feedback, rtxPayloadType: rtxPayloadType)
        lines.append(SubscriberLine(mid: singlePeerConnection ? "" : String(lines.count + 1),
                                    kind: track.kind == .audio ? .audio : .video,
                                    codec: codec, trackSid: track.id, publisherSid: publisher.sid, ssrc: ssrc,
                                    rtxSSRC: track.kind == .video ? UInt32.random(in: 1...UInt32.max) : nil,
                                    downTrack: downTrack, pendingTrack: singlePeerConnection ? track : nil))
    }

    /// The RTX payload type offered for a codec sent with `primary`: `primary + 1` (libwebrtc's
    /// own habit: codec even, RTX odd) unless another m-line of the bundle uses it, else the
    /// first free dynamic one. A payload type means one codec across a BUNDLE group, and
    /// existing m-lines keep theirs, so only the new line's choice moves.
    static func rtxPayloadType(repairing primary: UInt8, besides lines: [SubscriberLine]) -> UInt8? {
        var used: Set<UInt8> = [primary]
        for line in lines {
            used.insert(line.codec.payloadType)
            if let rtx = line.codec.rtxPayloadType { used.insert(rtx) }
        }
        if primary < 127, primary >= 96, !used.contains(primary + 1) { return primary + 1 }
        return (96...127).first { !used.contains($0) }
    }

    /// LiveKit's StreamStateUpdate for one subscription, when forwarding pauses or resumes.
    private func streamStateReporter(publisherSid: String, trackSid: String) -> (Forwarder.StreamState) -> Void {
        let sink = self.sink
        return { state in
            var response = Livekit_SignalResponse()
            response.streamStateUpdate = Livekit_StreamStateUpdate.with {
                $0.streamStates = [Livekit_StreamStateInfo.with {
                    $0.participantSid = publisherSid
                    $0.trackSid = trackSid
                    $0.state = state == .paused ? .paused : .active
                }]
            }
            sink.send(response)
        }
    }

    /// Ends the subscription to `trackSid` (its m-line goes inactive with the next offer).
    public func unsubscribe(trackSid: String, track: PublishedTrack?) {
        guard let index = lines.firstIndex(where: { $0.trackSid == trackSid }) else { return }
        if singlePeerConnection, lines[index].mid.isEmpty {
            lines.remove(at: index)  // it never had a slot
            return
        }
        if let track, lines[index].downTrack != nil { room.unsubscribe(participant, from: track) }
        lines[index].pendingTrack = nil
        lines[index].trackSid = nil
        lines[index].downTrack = nil
    }

    /// UpdateTrackSettings: the layer (or pause) this subscriber wants for each named track.
    /// Returns the tracks whose wanted layers may have changed (for dynacast).
    public func updateTrackSettings(_ update: Livekit_UpdateTrackSettings) -> [PublishedTrack] {
        let quality = LayerSelector.Quality(rawValue: min(Int(update.quality.rawValue), 2)) ?? .high
        let settings = LayerSelector.Settings(disabled: update.disabled, quality: quality,
                                              width: Int(update.width), height: Int(update.height))
        var changed: [PublishedTrack] = []
        for sid in update.trackSids {
            if let index = lines.firstIndex(where: { $0.trackSid == sid }), let pending = lines[index].pendingTrack {
                lines[index].pendingSettings = settings
                changed.append(pending)
                continue
            }
            guard let line = lines.first(where: { $0.trackSid == sid }), let downTrack = line.downTrack else { continue }
            room.setSettings(settings, for: downTrack)
            changed.append(downTrack.track)
        }
        return changed
    }

    /// The track sids this participant receives.
    public var subscribedTrackSids: [String] { lines.compactMap(\.trackSid) }

    /// Sends a subscriber offer with the current m-lines, or marks one as due when an offer is
    /// already waiting for its answer (one offer in flight at a time).
    public func negotiateSubscriber() { negotiateSubscriber(iceRestart: false) }

    public func negotiateSubscriber(iceRestart: Bool) {
        guard !isClosed else { return }
        guard let subscriber else {
            requestSlots()
            return
        }
        guard !offerInFlight else { needsOffer = true; return }
        needsOffer = false
        var sections = [OfferedSection(mid: Self.dataMid, content: .data)]
        var midToTrack: [String: String] = [:]
        for index in lines.indices {
            let line = lines[index]
            if let trackSid = line.trackSid {
                let track = OutgoingTrack(kind: line.kind, codecName: line.codec.name, codecParameters: line.codec.parameters,
                                          ssrc: line.ssrc, rtxSSRC: line.rtxSSRC, streamID: "\(line.publisherSid)|\(trackSid)", trackID: trackSid,
                                          cname: line.publisherSid, tag: trackSid)
                sections.append(OfferedSection(mid: line.mid, content: .track(track, codec: line.codec)))
                midToTrack[line.mid] = trackSid
                lines[index].offered = true
            } else {
                sections.append(OfferedSection(mid: line.mid, content: .inactive(line.kind, codec: line.codec)))
            }
        }
        let offer: SessionDescription
        do {
            offer = try subscriber.offer(sections, iceRestart: iceRestart)
        } catch {
            logger.warning("subscriber offer failed", metadata: ["participant": "\(sid)", "error": "\(error)"])
            return
        }
        offerID += 1
        offerInFlight = true
        var response = Livekit_SignalResponse()
        response.offer = Livekit_SessionDescription.with {
            $0.type = "offer"
            $0.sdp = offer.description
            $0.id = offerID
            $0.midToTrackID = midToTrack
        }
        sink.send(response)
    }

    /// The client resumed on a new signalling connection: whatever offer was in flight may be
    /// lost, and LiveKit clients expect a fresh subscriber offer that restarts ICE.
    public func resumed() {
        if singlePeerConnection {
            // The client restarts ICE with its next offer; ask for one if we still wait for one.
            requirementPending = false
            requestSlots()
            return
        }
        offerInFlight = false
        needsOffer = false
        for index in lines.indices where lines[index].offered { lines[index].offered = false }
        negotiateSubscriber(iceRestart: true)
    }

    /// The client's answer to our subscriber offer.
    public func subscriberAnswered(sdp: String) throws {
        guard offerInFlight else { throw NegotiationError.malformedSDP("an answer without an offer in flight") }
        guard let subscriber else { throw NegotiationError.malformedSDP("an answer on a single peer connection") }
        let answer = try SessionDescription(parsing: sdp)
        let sections = try subscriber.setAnswer(answer)
        // Transport-wide sequence numbers on everything we send it, from now on (0: it declined).
        participant.sendHistory.extensionID = SDPOfferer.transportCCExtensionID(of: answer) ?? 0
        offerInFlight = false
        for index in lines.indices where lines[index].offered {
            lines[index].offered = false
            let accepted = sections.first { $0.mid == lines[index].mid }?.accepted ?? false
            lines[index].answered = accepted
            // RTX from now on where the answer kept the payload type we offered for it.
            let line = lines[index]
            if accepted, let downTrack = line.downTrack, downTrack.retransmissionStream == nil,
               let rtxSSRC = line.rtxSSRC, let offered = line.codec.rtxPayloadType,
               SDPOfferer.rtxPayloadType(in: answer, mid: line.mid, primary: line.codec.payloadType) == offered {
                downTrack.retransmissionStream = RetransmissionStream(payloadType: offered, ssrc: rtxSSRC)
            }
        }
        activateAnsweredDownTracks()
        if needsOffer { negotiateSubscriber() }
    }

    private func activateAnsweredDownTracks() {
        guard sendingConnection.state == .connected else { return }
        for line in lines where line.answered {
            guard let downTrack = line.downTrack, !downTrack.isActive else { continue }
            room.activate(downTrack)
        }
    }

    /// A trickled candidate from the client for one of the two connections.
    public func addCandidate(_ candidateInit: String, target: Livekit_SignalTarget) throws {
        guard let data = candidateInit.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw NegotiationError.malformedSDP("candidateInit is not a JSON object")
        }
        let connection = target == .subscriber ? sendingConnection : publisher
        guard let candidate = object["candidate"] as? String else { throw NegotiationError.malformedSDP("candidateInit has no candidate") }
        if candidate.isEmpty {
            connection.remoteCandidatesComplete()  // an empty candidate is end-of-candidates
            return
        }
        try connection.addRemoteCandidate(candidate)
    }

    // MARK: Room events

    /// The room's speakers and connection quality, as LiveKit clients hear them.
    public func roomEvent(_ event: MediaRoomEvent) {
        var response = Livekit_SignalResponse()
        switch event {
        case .speakersChanged(let speakers):
            response.speakersChanged = Livekit_SpeakersChanged.with {
                $0.speakers = speakers.map { speaker in
                    Livekit_SpeakerInfo.with { $0.sid = speaker.participant; $0.level = speaker.level; $0.active = speaker.active }
                }
            }
        case .connectionQuality(let ratings):
            response.connectionQuality = Livekit_ConnectionQualityUpdate.with {
                $0.updates = ratings.map { rating in
                    Livekit_ConnectionQualityInfo.with {
                        $0.participantSid = rating.participant
                        $0.quality = switch rating.quality {
                        case .excellent: .excellent
                        case .good: .good
                        case .poor: .poor
                        case .lost: .lost
                        }
                        $0.score = rating.score
                    }
                }
            }
        }
        sink.send(response)
    }

    // MARK: Data

    /// A DataPacket for this participant, already serialized.
    public func deliver(_ bytes: [UInt8], reliable: Bool) {
        if reliable {
            guard let channel = reliableOut, channel.state == .open else {
                if pendingReliable.count < Self.maxPendingReliable { pendingReliable.append(bytes) }
                return
            }
            try? channel.send(bytes)
        } else {
            guard let channel = lossyOut, channel.state == .open else { return }
            try? channel.send(bytes)
        }
    }

    private func received(_ message: DataChannelMessage, reliable: Bool) {
        let bytes: [UInt8]
        switch message {
        case .binary(let data): bytes = data
        case .text(let text): bytes = Array(text.utf8)
        }
        guard permission.canPublishData else { refusedDataPackets += 1; return }
        var packet: Livekit_DataPacket
        do { packet = try Livekit_DataPacket(serializedBytes: bytes) } catch {
            malformedDataPackets += 1
            logger.debug("malformed data packet", metadata: ["participant": "\(sid)", "error": "\(error)"])
            return
        }
        hub?.relay(&packet, reliable: reliable, from: self)
    }

    // MARK: Lifecycle

    /// What each DownTrack did, logged when the participant leaves (loss recovery shows here);
    /// and what arrived on each track it published, with the retransmissions its connection
    /// sent as RTX (counted per connection: RTX names the stream it repairs only once unwrapped).
    public func logSubscriptionStats() {
        for case let track? in published.tracks {
            logger.info("publication stats", metadata: [
                "participant": "\(sid)", "identity": "\(identity)", "track": "\(track.id)", "kind": "\(track.kind)",
                "packets": "\(track.packetsReceived)", "nacksSent": "\(track.nacksSent)", "nackRepeats": "\(track.nackRepeats)", "keyframesForLost": "\(track.keyframesForLostPackets)",
                "rtxReceived": "\(publisher.rtxPacketsReceived)", "rtxPadding": "\(publisher.rtxPaddingPackets)"])
        }
        for downTrack in participant.downTracks {
            logger.info("subscription stats", metadata: [
                "participant": "\(sid)", "identity": "\(identity)", "track": "\(downTrack.track.id)",
                "kind": "\(downTrack.track.kind)",
                "packets": "\(downTrack.packetsSent)", "nackRetransmits": "\(downTrack.retransmissions)",
                "nackMisses": "\(downTrack.retransmissionMisses)",
                "nackSuppressed": "\(downTrack.retransmissionsSuppressed)",
                "rtxPackets": "\(downTrack.retransmissionStream?.packetsSent ?? -1)", "layerSwitches": "\(downTrack.layerSwitches)",
                "nackItems": "\(participant.nackItems)", "pli": "\(participant.keyframeRequests)",
                "twccFeedback": "\(participant.transportFeedbackPackets)", "probes": "\(participant.probesSent)",
                "estimate": "\(participant.downlinkEstimator.estimate.map { Int($0) } ?? -1)"])
        }
    }

    /// Closes both connections. Idempotent; the hub removes this participant first.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        let drops = publisher.transport.receiveQueueDrops
        if drops > 0 {
            // The room's worker fell behind this publisher's packets (see ReceiveDropNotices).
            logger.notice("publisher packets dropped before forwarding, in total", metadata: [
                "participant": "\(sid)", "total": "\(drops)", "untold": "\(drops - dropNotices.reported)",
                "deepestQueue": "\(publisher.transport.receiveQueueHighWater)"])
        }
        publisher.delegate = nil
        subscriber?.delegate = nil
        publisher.close()
        subscriber?.close()
        reliableOut = nil
        lossyOut = nil
        pendingReliable = []
    }

    // MARK: PeerConnectionDelegate (on the worker)

    public func peerConnection(_ connection: PeerConnection, didChangeState state: PeerTransport.State) {
        switch state {
        case .connected:
            if connection === sendingConnection { activateAnsweredDownTracks() }
            if !connectedOnce {
                connectedOnce = true
                onConnected?()
            }
            logger.info("peer connection connected", metadata: [
                "participant": "\(sid)", "pc": "\(singlePeerConnection ? "single" : connection === subscriber ? "subscriber" : "publisher")",
                "pair": "\(connection.selectedPair.map(\.description) ?? "none")"])
        case .failed(let why):
            logger.info("peer connection failed", metadata: [
                "participant": "\(sid)", "pc": "\(connection === subscriber ? "subscriber" : "publisher")", "reason": "\(why)"])
            let callback = onFailed
            onFailed = nil
            callback?(why)
        case .closed:
            // After connecting, a close is the client's DTLS goodbye: it is leaving (or will
            // resume), which its signalling says. Before, it is our connect timeout.
            guard !isClosed, !connectedOnce else { return }
            let callback = onFailed
            onFailed = nil
            callback?("peer connection did not connect")
        case .new, .connecting, .securing:
            break
        }
    }

    @inline(__always)
    public func peerConnection(_ connection: PeerConnection, didReceiveRTP packet: UnsafeMutableRawBufferPointer, media: Int,
                        layer: Int) {
        guard connection === publisher, let (track, trackLayer) = published.route(media: media, ridIndex: layer) else { return }
        room.receiveRTP(packet, track: track, layer: trackLayer)
    }

    public func peerConnectionDidFinishReceivingRTP(_ connection: PeerConnection) {
        guard connection === publisher else { return }
        room.flushFanOut(published.tracks)
        // One integer compare per batch; the clock is read only when there are new drops.
        let drops = publisher.transport.receiveQueueDrops
        if drops > dropNotices.reported { tellDrops(total: drops) }
    }

    private func tellDrops(total: Int) {
        guard let dropped = dropNotices.due(total: total, now: ContinuousClock.now) else { return }
        logger.notice("publisher packets dropped before forwarding", metadata: [
            "participant": "\(sid)", "dropped": "\(dropped)", "total": "\(total)",
            "deepestQueue": "\(publisher.transport.receiveQueueHighWater)",
            "why": "receive queue full: the room's worker fell behind (CPU starved or stalled)"])
    }

    public func peerConnection(_ connection: PeerConnection, didReceiveRTCP packet: UnsafeMutableRawBufferPointer) {
        room.receiveRTCP(UnsafeRawBufferPointer(packet), from: participant)
    }

    public func peerConnection(_ connection: PeerConnection, didCreateDataChannels manager: DataChannelManager) {
        if connection === publisher {
            // The client opens `_reliable` and `_lossy` (and maybe `_data_track`) in band. On a
            // single peer connection we send on those same channels.
            let single = singlePeerConnection
            manager.onDataChannel = { [weak self] channel in
                let reliable = channel.label != "_lossy" && channel.label != "_data_track"
                channel.onMessage = { message in self?.received(message, reliable: reliable) }
                guard single, let self else { return }
                if channel.label == "_reliable" {
                    self.reliableOut = channel
                    self.flushPendingReliable()
                    channel.onOpen = { [weak self] in self?.flushPendingReliable() }
                } else if channel.label == "_lossy" {
                    self.lossyOut = channel
                }
            }
        } else {
            // LiveKit opens the same labels on the subscriber side for server-to-client data.
            reliableOut = try? manager.createDataChannel(label: "_reliable", options: DataChannelOptions(ordered: true))
            lossyOut = try? manager.createDataChannel(label: "_lossy", options: DataChannelOptions(ordered: false, maxRetransmits: 0))
            reliableOut?.onOpen = { [weak self] in self?.flushPendingReliable() }
        }
    }

    private func flushPendingReliable() {
        guard let channel = reliableOut, channel.state == .open, !pendingReliable.isEmpty else { return }
        let queued = pendingReliable
        pendingReliable = []
        for bytes in queued { try? channel.send(bytes) }
    }
}
