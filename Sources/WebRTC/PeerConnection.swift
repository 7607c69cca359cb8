import Dispatch
import Media

/// Events from a `PeerConnection`, synchronous on its worker thread. Packet buffers are valid only
/// during the call (already unprotected, writable in place).
public protocol PeerConnectionDelegate: AnyObject {
    func peerConnection(_ connection: PeerConnection, didChangeState state: PeerTransport.State)
    /// RTP of the m-line at index `media` of the SDP (see `negotiatedMedia(at:)`); `layer` is the
    /// simulcast layer (the rid's position in `NegotiatedMedia.rids`), 0 without simulcast.
    func peerConnection(_ connection: PeerConnection, didReceiveRTP packet: UnsafeMutableRawBufferPointer, media: Int,
                        layer: Int)
    /// The RTP delivered since the last call was one receive batch (see
    /// `PeerTransportDelegate.peerTransportDidFinishReceivingRTP`).
    func peerConnectionDidFinishReceivingRTP(_ connection: PeerConnection)
    func peerConnection(_ connection: PeerConnection, didReceiveRTCP packet: UnsafeMutableRawBufferPointer)
    /// The SCTP association for data channels exists (after the data m-line was negotiated);
    /// set its callbacks here. It connects once DTLS is up.
    func peerConnection(_ connection: PeerConnection, didCreateDataChannels manager: DataChannelManager)
}

extension PeerConnectionDelegate {
    public func peerConnectionDidFinishReceivingRTP(_ connection: PeerConnection) {}
    public func peerConnection(_ connection: PeerConnection, didCreateDataChannels manager: DataChannelManager) {}
}

/// A server-side WebRTC peer over one BUNDLEd `PeerTransport`.
///
/// Two ways in:
/// - answerer (`init(offer:)`, WHIP/WHEP and LiveKit's publisher connection): answers the offer,
///   and later offers on the same transport (`answer(offer:mode:)`) for renegotiation;
/// - offerer (`init(offering:)`, LiveKit's subscriber connection): `offer(_:)` builds offers,
///   `setAnswer(_:)` applies answers; the answer decides our DTLS role.
/// Candidates are gathered before the first description and sent inline; remote candidates come
/// inline or trickled (`addRemoteCandidate`). Inbound RTP is routed to m-lines by SSRC (from the
/// SDP, or learned from the mid header extension or a payload type only one m-line uses).
///
/// Loop-confined: create, use and drop it on its worker.
public final class PeerConnection {
    public let worker: MediaWorker
    public let transport: PeerTransport
    public weak var delegate: (any PeerConnectionDelegate)?
    /// The peer's transport parameters, once known (from its offer or answer).
    public private(set) var remote: RemoteTransportDescription?
    /// The last remote offer (answerer) or the last offer we made (offerer).
    public private(set) var offer: SessionDescription?
    public private(set) var negotiated: [NegotiatedMedia] = []
    public private(set) var localDescription: SessionDescription?
    /// The data channels, once a data m-line was negotiated.
    public private(set) var dataChannels: DataChannelManager?

    public private(set) var unroutablePackets = 0
    public private(set) var malformedPackets = 0
    public private(set) var unexpectedPayloadTypePackets = 0

    /// SSRC -> m-line index * 8 + layer (learned from SDP, or the mid/rid extensions).
    private var ssrcRoutes: [UInt32: Int] = [:]
    private var midExtensionID: UInt8?
    private var ridExtensionID: UInt8?
    private var repairedRidExtensionID: UInt8?
    /// RTX SSRC -> the media SSRC it repairs: from FID groups, or learned (the media SSRC routed
    /// to the same m-line and layer) with the stream's first packet.
    private var rtxPrimaries: [UInt32: UInt32] = [:]
    /// Retransmissions the peer sent as RTX (RFC 4588), delivered unwrapped as the original
    /// packets; and padding-only RTX packets (its bandwidth probes), counted and dropped.
    public private(set) var rtxPacketsReceived = 0
    public private(set) var rtxPaddingPackets = 0
    /// Transport-wide congestion control towards the sender, when negotiated.
    private var transportCCExtensionID: UInt8?
    private var transportFeedback = TransportFeedbackRecorder()
    private var feedbackTimer: LoopTimer?
    private var feedbackMediaSSRC: UInt32 = 0
    private let feedbackSenderSSRC = UInt32.random(in: 1...UInt32.max)
    /// How often transport-cc feedback goes out (libwebrtc's receivers use about 100 ms).
    static let transportFeedbackMilliseconds = 100
    /// By m-line index: the negotiated media there (nil for data or rejected m-lines).
    private var mediaByLine: [NegotiatedMedia?] = []
    /// payload type -> m-line index when exactly one m-line uses it, else -1.
    private var payloadTypeRoutes = [Int](repeating: -1, count: 128)
    private let listener = Listener()
    private var connectTimer: LoopTimer?
    private let sessionID = String(UInt64.random(in: 1...UInt64(Int64.max)))
    private var sessionVersion: UInt64 = 1
    /// Trickled candidates that arrived before the peer's credentials.
    private var earlyCandidates: [String] = []
    private var remoteSCTPPort: UInt16 = 5000
    /// The peer's credentials were applied and ICE checks may run.
    private var started = false

    /// Answerer: parses the offer's transport, creates the ICE/DTLS transport (controlled ICE
    /// agent, DTLS role from a=setup) and starts gathering host candidates on `localAddresses`.
    public init(worker: MediaWorker, certificate: DTLSCertificate, offer: SessionDescription,
                localAddresses: [String], portRange: ClosedRange<UInt16>?, trickle: Bool = false, tcp: Bool = false) throws {
        worker.preconditionIsCurrent()
        self.worker = worker
        self.offer = offer
        let remote = try SDPAnswerer.remoteTransport(of: offer)
        self.remote = remote
        let ice = ICEConfiguration(controlling: false, localAddresses: localAddresses, portRange: portRange, trickle: trickle,
                                   tcp: tcp)
        transport = try PeerTransport(worker: worker, configuration: PeerTransportConfiguration(
            ice: ice, dtlsRole: remote.localSetup == .active ? .client : .server), certificate: certificate)
        listener.owner = self
        transport.delegate = listener
        try transport.gatherCandidates()
    }

    /// Answerer whose offer comes later (LiveKit's publisher connection, prepared at join so the
    /// client's first offer is answered at once): controlled ICE agent, trickle, gathering.
    public convenience init(worker: MediaWorker, certificate: DTLSCertificate, answeringOn localAddresses: [String],
                            portRange: ClosedRange<UInt16>?, tcp: Bool = false) throws {
        try self.init(worker: worker, certificate: certificate, controlling: false, localAddresses: localAddresses,
                      portRange: portRange, tcp: tcp)
    }

    /// Offerer: creates the transport (controlling ICE agent, as the offerer is) and starts
    /// gathering. The DTLS role is settled by the answer.
    public convenience init(worker: MediaWorker, certificate: DTLSCertificate, offeringOn localAddresses: [String],
                            portRange: ClosedRange<UInt16>?, tcp: Bool = false) throws {
        try self.init(worker: worker, certificate: certificate, controlling: true, localAddresses: localAddresses,
                      portRange: portRange, tcp: tcp)
    }

    /// A transport whose remote description comes later; the DTLS role is set when it does.
    private init(worker: MediaWorker, certificate: DTLSCertificate, controlling: Bool, localAddresses: [String],
                 portRange: ClosedRange<UInt16>?, tcp: Bool) throws {
        worker.preconditionIsCurrent()
        self.worker = worker
        let ice = ICEConfiguration(controlling: controlling, localAddresses: localAddresses, portRange: portRange, trickle: true,
                                   tcp: tcp)
        transport = try PeerTransport(worker: worker, configuration: PeerTransportConfiguration(ice: ice, dtlsRole: .server),
                                      certificate: certificate)
        listener.owner = self
        transport.delegate = listener
        try transport.gatherCandidates()
    }

    public var isGatheringDone: Bool { transport.iceGatheringDone }
    public var state: PeerTransport.State { transport.state }
    /// The ICE pair media flows on, once one is selected.
    public var selectedPair: ICEAgent.CandidatePair? { transport.selectedPair }

    /// The negotiated media of the m-line at `index`, if it carries RTP.
    public func negotiatedMedia(at index: Int) -> NegotiatedMedia? {
        index >= 0 && index < mediaByLine.count ? mediaByLine[index] : nil
    }

    private var localTransport: LocalTransportDescription {
        let credentials = transport.localCredentials
        return LocalTransportDescription(ufrag: credentials.ufrag, password: credentials.password,
                                         fingerprint: transport.localFingerprint, candidates: transport.localCandidates)
    }

    // MARK: Answerer

    /// Answers the offer given at creation, then applies its credentials and candidates so ICE
    /// checks start. Call once gathering is done.
    public func answer(mode: SDPAnswerer.Mode, acceptData: Bool = false,
                       connectTimeoutMilliseconds: Int = 20_000) throws -> SessionDescription {
        guard let offer else { throw NegotiationError.noUsableMedia("no remote offer") }
        return try answer(offer: offer, mode: mode, acceptData: acceptData, connectTimeoutMilliseconds: connectTimeoutMilliseconds)
    }

    /// Answers an offer on this transport: the first one, or a renegotiation (new m-lines, tracks
    /// stopped). A changed ICE ufrag (ICE restart) is refused for now.
    public func answer(offer: SessionDescription, mode: SDPAnswerer.Mode, acceptData: Bool = false,
                       connectTimeoutMilliseconds: Int = 20_000) throws -> SessionDescription {
        let incoming = try SDPAnswerer.remoteTransport(of: offer)
        let first = localDescription == nil
        let restart = !first && remote.map { $0.ufrag != incoming.ufrag || $0.password != incoming.password } ?? false
        if restart {
            // The peer restarts ICE (a LiveKit client resuming): so do we, then answer with our
            // new credentials.
            try transport.restartICE()
        }
        sessionVersion += 1
        let (answer, negotiated) = try SDPAnswerer.answer(to: offer, mode: mode, local: localTransport, sessionID: sessionID,
                                                          sessionVersion: sessionVersion, acceptData: acceptData)
        self.offer = offer
        adopt(negotiated, lineCount: offer.mediaSections.count)
        localDescription = answer
        if let data = offer.mediaSections.first(where: { $0.kind == "application" && !$0.isRejected }),
           answer.mediaSections.contains(where: { $0.kind == "application" && !$0.isRejected }) {
            remoteSCTPPort = UInt16(clamping: data.sctpPort ?? 5000)
            try createDataChannelsIfNeeded(role: incoming.localSetup == .active ? .client : .server)
        }
        if first {
            try transport.setDTLSRole(incoming.localSetup == .active ? .client : .server)
            try start(remote: incoming, connectTimeoutMilliseconds: connectTimeoutMilliseconds)
        } else if restart {
            try applyRestartedRemote(incoming)
        } else {
            for candidate in incoming.candidates { _ = try? transport.addRemoteCandidate(candidate) }
        }
        return answer
    }

    // MARK: Offerer

    /// Builds an offer of `sections` (a new one each call: renegotiation keeps earlier m-lines in
    /// place). Call once gathering is done.
    public func offer(_ sections: [OfferedSection], iceRestart: Bool = false) throws -> SessionDescription {
        if iceRestart, started { try transport.restartICE() }
        sessionVersion += 1
        let offer = SDPOfferer.offer(sections, local: localTransport, sessionID: sessionID, sessionVersion: sessionVersion)
        self.offer = offer
        localDescription = offer
        return offer
    }

    /// Applies the answer to our last offer. `media` maps what each offered m-line carries, for
    /// routing RTCP and negotiated state; the first answer starts ICE.
    @discardableResult
    public func setAnswer(_ answer: SessionDescription, connectTimeoutMilliseconds: Int = 20_000) throws -> [AnsweredSection] {
        guard let offer else { throw NegotiationError.malformedSDP("an answer without an offer") }
        let (incoming, sections) = try SDPOfferer.read(answer: answer, to: offer)
        var negotiated: [NegotiatedMedia] = []
        for (index, (offered, fate)) in zip(offer.mediaSections, sections).enumerated() where fate.accepted {
            guard let kind = NegotiatedKind(rawValue: offered.kind), let codec = offered.codecs.first else { continue }
            negotiated.append(NegotiatedMedia(
                index: index, mid: fate.mid, kind: kind, direction: offered.direction ?? .inactive,
                codec: NegotiatedCodec(payloadType: codec.payloadType, name: codec.name, clockRate: codec.clockRate,
                                       channels: codec.channels, parameters: codec.parameters),
                remoteSSRCs: SDPAnswerer.mediaSSRCs(of: answer.mediaSections[index]), midExtensionID: nil))
        }
        adopt(negotiated, lineCount: offer.mediaSections.count)
        let first = !started
        if first {
            try transport.setDTLSRole(incoming.localSetup == .active ? .client : .server)
        }
        if zip(offer.mediaSections, sections).contains(where: { $0.0.kind == "application" && $0.1.accepted }) {
            if let data = answer.mediaSections.first(where: { $0.kind == "application" }) {
                remoteSCTPPort = UInt16(clamping: data.sctpPort ?? 5000)
            }
            try createDataChannelsIfNeeded(role: incoming.localSetup == .active ? .client : .server)
        }
        if first {
            try start(remote: incoming, connectTimeoutMilliseconds: connectTimeoutMilliseconds)
        } else if let remote, remote.ufrag != incoming.ufrag || remote.password != incoming.password {
            try applyRestartedRemote(incoming)
        } else {
            for candidate in incoming.candidates { _ = try? transport.addRemoteCandidate(candidate) }
        }
        return sections
    }

    // MARK: Both

    /// A trickled remote candidate ("candidate:..."); kept until the peer's credentials are known.
    public func addRemoteCandidate(_ candidate: String) throws {
        guard started else {
            earlyCandidates.append(candidate)
            return
        }
        try transport.addRemoteCandidate(candidate)
    }

    /// The peer said it has no more candidates.
    public func remoteCandidatesComplete() {
        transport.remoteCandidatesComplete()
    }

    /// Sends plain RTP (protected by the transport). False before DTLS completes or on failure.
    @inline(__always)
    @discardableResult
    public func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard transport.state == .connected else { return false }
        do { return try transport.sendRTP(packet) } catch { return false }
    }

    @discardableResult
    public func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard transport.state == .connected else { return false }
        do { return try transport.sendRTCP(packet) } catch { return false }
    }

    public func close() {
        connectTimer?.cancel()
        connectTimer = nil
        feedbackTimer?.cancel()
        feedbackTimer = nil
        dataChannels?.close()
        transport.close()
    }

    private func start(remote incoming: RemoteTransportDescription, connectTimeoutMilliseconds: Int) throws {
        remote = incoming
        started = true
        try transport.setRemote(ufrag: incoming.ufrag, password: incoming.password, fingerprint: incoming.fingerprint)
        for candidate in incoming.candidates { _ = try? transport.addRemoteCandidate(candidate) }
        for candidate in earlyCandidates { _ = try? transport.addRemoteCandidate(candidate) }
        earlyCandidates = []
        let timer = LoopTimer(worker: worker) { [weak self] in
            guard let self, self.transport.state != .connected, self.transport.state != .closed else { return }
            self.transport.close()
        }
        timer.schedule(afterMilliseconds: connectTimeoutMilliseconds)
        connectTimer = timer
    }

    private func startTransportFeedback() {
        let timer = LoopTimer(worker: worker) { [weak self] in
            guard let self, self.transport.state != .closed else { return }
            if let message = self.transportFeedback.feedback(senderSSRC: self.feedbackSenderSSRC,
                                                             mediaSSRC: self.feedbackMediaSSRC) {
                message.withUnsafeBytes { _ = self.sendRTCP($0) }
            }
            self.feedbackTimer?.schedule(afterMilliseconds: Self.transportFeedbackMilliseconds)
        }
        timer.schedule(afterMilliseconds: Self.transportFeedbackMilliseconds)
        feedbackTimer = timer
    }

    /// The peer's credentials after an ICE restart; checks start again with them.
    private func applyRestartedRemote(_ incoming: RemoteTransportDescription) throws {
        guard incoming.fingerprint.lowercased() == remote?.fingerprint.lowercased() else {
            throw NegotiationError.malformedSDP("the DTLS fingerprint changed in a renegotiation")
        }
        remote = incoming
        try transport.setRemote(ufrag: incoming.ufrag, password: incoming.password, fingerprint: incoming.fingerprint)
        for candidate in incoming.candidates { _ = try? transport.addRemoteCandidate(candidate) }
    }

    private func adopt(_ negotiated: [NegotiatedMedia], lineCount: Int) {
        self.negotiated = negotiated
        mediaByLine = Array(repeating: nil, count: lineCount)
        payloadTypeRoutes = [Int](repeating: -1, count: 128)
        var routes: [UInt32: Int] = [:]
        for media in negotiated {
            mediaByLine[media.index] = media
            for ssrc in media.remoteSSRCs { routes[ssrc] = media.index << 3 }
            for (rtx, primary) in media.remoteRTXSSRCs {
                routes[rtx] = media.index << 3
                rtxPrimaries[rtx] = primary
            }
            if let id = media.midExtensionID { midExtensionID = id }
            if let id = media.ridExtensionID { ridExtensionID = id }
            if let id = media.repairedRidExtensionID { repairedRidExtensionID = id }
            if let id = media.transportCCExtensionID { transportCCExtensionID = id }
            // Only m-lines the peer sends on can route by payload type (a single peer
            // connection also has our sending m-lines, with the same payload types).
            guard media.direction != .sendonly, media.direction != .inactive else { continue }
            let pt = Int(media.codec.payloadType & 0x7F)
            payloadTypeRoutes[pt] = payloadTypeRoutes[pt] == -1 ? media.index : -2
            if let rtx = media.codec.rtxPayloadType.map({ Int($0 & 0x7F) }) {
                payloadTypeRoutes[rtx] = payloadTypeRoutes[rtx] == -1 ? media.index : -2
            }
        }
        // Keep learned routes whose m-line still receives.
        for (ssrc, route) in ssrcRoutes where routes[ssrc] == nil {
            let index = route >> 3
            if index < mediaByLine.count, mediaByLine[index] != nil { routes[ssrc] = route }
        }
        ssrcRoutes = routes
    }

    private func createDataChannelsIfNeeded(role: DTLSTransport.Role) throws {
        guard dataChannels == nil else { return }
        let manager = try DataChannelManager(
            worker: worker, role: role,
            configuration: SCTPAssociation.Configuration(remotePort: remoteSCTPPort, maxMessageSize: SDPAnswerer.maxMessageSize))
        manager.output = { [weak self] packet in
            try? self?.transport.sendApplicationData(packet)
        }
        dataChannels = manager
        delegate?.peerConnection(self, didCreateDataChannels: manager)
        if transport.state == .connected { try? manager.start() }
    }

    // MARK: Inbound routing

    @inline(__always)
    fileprivate func route(_ bytes: UnsafeMutableRawBufferPointer) {
        let packet: RTPPacket
        do { packet = try RTPPacket(UnsafeRawBufferPointer(bytes)) } catch { malformedPackets += 1; return }
        var route = ssrcRoutes[packet.ssrc] ?? -1
        if route < 0 {
            route = learnRoute(packet)
            guard route >= 0 else { unroutablePackets += 1; return }
            ssrcRoutes[packet.ssrc] = route
        }
        if let id = transportCCExtensionID, let value = packet.headerExtension(id: id), value.count >= 2 {
            transportFeedback.record(sequenceNumber: UInt16(value[0]) << 8 | UInt16(value[1]),
                                     arrivalMicroseconds: Int64(bitPattern: DispatchTime.now().uptimeNanoseconds / 1000))
            feedbackMediaSSRC = packet.ssrc
            if feedbackTimer == nil { startTransportFeedback() }
        }
        let index = route >> 3
        guard index < mediaByLine.count, let media = mediaByLine[index] else {
            unexpectedPayloadTypePackets += 1
            return
        }
        if packet.payloadType == media.codec.payloadType {
            delegate?.peerConnection(self, didReceiveRTP: bytes, media: index, layer: route & 7)
        } else if packet.payloadType == media.codec.rtxPayloadType {
            receiveRTX(bytes, packet, route: route, media: media)
        } else {
            unexpectedPayloadTypePackets += 1
        }
    }

    /// An RTX packet: turned back into the packet it repairs, in place, and delivered as that
    /// (the ingest side sees a late packet of the media stream, as without RTX).
    private func receiveRTX(_ bytes: UnsafeMutableRawBufferPointer, _ packet: RTPPacket, route: Int, media: NegotiatedMedia) {
        var primary = rtxPrimaries[packet.ssrc]
        if primary == nil {
            // The media stream routed to the same m-line and layer; until it has been seen, the
            // repair has nothing to repair.
            primary = ssrcRoutes.first { $0.value == route && $0.key != packet.ssrc && rtxPrimaries[$0.key] == nil }?.key
            guard let primary else { unroutablePackets += 1; return }
            rtxPrimaries[packet.ssrc] = primary
        }
        guard let primary, let range = RTXPacket.unwrapInPlace(bytes, primaryPayloadType: media.codec.payloadType,
                                                                primarySSRC: primary) else {
            rtxPaddingPackets += 1
            return
        }
        rtxPacketsReceived += 1
        delegate?.peerConnection(self, didReceiveRTP: UnsafeMutableRawBufferPointer(rebasing: bytes[range]),
                                 media: route >> 3, layer: route & 7)
    }

    /// The m-line (and simulcast layer) of an SSRC not in the SDP: from the mid and rid header
    /// extensions (RFC 8843, 8852), else from a payload type only one m-line uses. -1 if unknown.
    private func learnRoute(_ packet: RTPPacket) -> Int {
        var index = -1
        if let id = midExtensionID, let mid = packet.headerExtension(id: id) {
            index = mediaByLine.firstIndex { $0.map { Array($0.mid.utf8).elementsEqual(mid) } ?? false } ?? -1
        }
        if index < 0 { index = payloadTypeRoutes[Int(packet.payloadType)] }
        guard index >= 0, let media = mediaByLine[index] else { return -1 }
        guard !media.rids.isEmpty else { return index << 3 }
        // A simulcast m-line: the rid says which layer. Without it we cannot tell the layers
        // apart, so the packet waits for one that carries it.
        // RTX packets name the layer they repair with the repaired-rid extension instead.
        let rid = ridExtensionID.flatMap { packet.headerExtension(id: $0) }
            ?? repairedRidExtensionID.flatMap { packet.headerExtension(id: $0) }
        guard let rid,
              let layer = media.rids.firstIndex(where: { Array($0.utf8).elementsEqual(rid) }), layer < 8 else { return -1 }
        return index << 3 | layer
    }

    fileprivate func stateChanged(_ state: PeerTransport.State) {
        if state == .connected || state == .closed {
            connectTimer?.cancel()
            connectTimer = nil
        }
        if state == .connected, let dataChannels, dataChannels.state == .new {
            try? dataChannels.start()
        }
        delegate?.peerConnection(self, didChangeState: state)
    }

    fileprivate func receivedApplicationData(_ data: UnsafeRawBufferPointer) {
        dataChannels?.handlePacket(data)
    }

    private final class Listener: PeerTransportDelegate {
        weak var owner: PeerConnection?

        func peerTransport(_ transport: PeerTransport, didChangeState state: PeerTransport.State) {
            owner?.stateChanged(state)
        }
        @inline(__always)
        func peerTransport(_ transport: PeerTransport, didReceiveRTP packet: UnsafeMutableRawBufferPointer) {
            owner?.route(packet)
        }
        func peerTransportDidFinishReceivingRTP(_ transport: PeerTransport) {
            guard let owner else { return }
            owner.delegate?.peerConnectionDidFinishReceivingRTP(owner)
        }
        func peerTransport(_ transport: PeerTransport, didReceiveRTCP packet: UnsafeMutableRawBufferPointer) {
            guard let owner else { return }
            owner.delegate?.peerConnection(owner, didReceiveRTCP: packet)
        }
        func peerTransport(_ transport: PeerTransport, didReceiveApplicationData data: UnsafeRawBufferPointer) {
            owner?.receivedApplicationData(data)
        }
    }
}
