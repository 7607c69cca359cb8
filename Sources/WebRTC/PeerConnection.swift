import Media

/// Events from a `PeerConnection`, synchronous on its worker thread. Packet buffers are valid only
/// during the call (already unprotected, writable in place).
public protocol PeerConnectionDelegate: AnyObject {
    func peerConnection(_ connection: PeerConnection, didChangeState state: PeerTransport.State)
    /// RTP of the negotiated m-line `connection.negotiated[media]`.
    func peerConnection(_ connection: PeerConnection, didReceiveRTP packet: UnsafeMutableRawBufferPointer, media: Int)
    func peerConnection(_ connection: PeerConnection, didReceiveRTCP packet: UnsafeMutableRawBufferPointer)
}

/// A server-side WebRTC peer that answers one offer (WHIP/WHEP style: candidates gathered before
/// answering, no trickle, no renegotiation) over a `PeerTransport`, and routes inbound RTP to the
/// negotiated m-lines by SSRC (from the offer, or learned from the mid header extension or a
/// payload type only one m-line uses).
///
/// Loop-confined: create, use and drop it on its worker.
public final class PeerConnection {
    public let worker: MediaWorker
    public let transport: PeerTransport
    public weak var delegate: (any PeerConnectionDelegate)?
    public let remote: RemoteTransportDescription
    public let offer: SessionDescription
    public private(set) var negotiated: [NegotiatedMedia] = []
    public private(set) var localDescription: SessionDescription?

    public private(set) var unroutablePackets = 0
    public private(set) var malformedPackets = 0
    public private(set) var unexpectedPayloadTypePackets = 0

    private var ssrcRoutes: [UInt32: Int] = [:]
    private var midExtensionID: UInt8?
    private var mids: [[UInt8]] = []
    /// payload type -> negotiated index when exactly one m-line uses it, else -1.
    private var payloadTypeRoutes = [Int](repeating: -1, count: 128)
    private let listener = Listener()
    private var connectTimer: LoopTimer?

    /// Parses the offer's transport, creates the ICE/DTLS transport (controlled ICE agent, DTLS
    /// role from a=setup) and starts gathering host candidates on `localAddresses`.
    public init(worker: MediaWorker, certificate: DTLSCertificate, offer: SessionDescription,
                localAddresses: [String], portRange: ClosedRange<UInt16>?) throws {
        worker.preconditionIsCurrent()
        self.worker = worker
        self.offer = offer
        remote = try SDPAnswerer.remoteTransport(of: offer)
        let ice = ICEConfiguration(controlling: false, localAddresses: localAddresses, portRange: portRange)
        transport = try PeerTransport(worker: worker, configuration: PeerTransportConfiguration(
            ice: ice, dtlsRole: remote.localSetup == .active ? .client : .server), certificate: certificate)
        listener.owner = self
        transport.delegate = listener
        try transport.gatherCandidates()
    }

    public var isGatheringDone: Bool { transport.iceGatheringDone }
    public var state: PeerTransport.State { transport.state }

    /// Builds the answer from the gathered candidates, then applies the offer's credentials and
    /// candidates so ICE checks start. Call once gathering is done.
    public func answer(mode: SDPAnswerer.Mode, connectTimeoutMilliseconds: Int = 20_000) throws -> SessionDescription {
        let credentials = transport.localCredentials
        let local = LocalTransportDescription(ufrag: credentials.ufrag, password: credentials.password,
                                              fingerprint: transport.localFingerprint,
                                              candidates: transport.localCandidates)
        let (answer, negotiated) = try SDPAnswerer.answer(to: offer, mode: mode, local: local)
        self.negotiated = negotiated
        for (index, media) in negotiated.enumerated() {
            for ssrc in media.remoteSSRCs { ssrcRoutes[ssrc] = index }
            if let id = media.midExtensionID { midExtensionID = id }
            mids.append(Array(media.mid.utf8))
            let pt = Int(media.codec.payloadType)
            payloadTypeRoutes[pt] = payloadTypeRoutes[pt] == -1 ? index : -2
        }
        localDescription = answer
        try transport.setRemote(ufrag: remote.ufrag, password: remote.password, fingerprint: remote.fingerprint)
        for candidate in remote.candidates { try transport.addRemoteCandidate(candidate) }
        let timer = LoopTimer(worker: worker) { [weak self] in
            guard let self, self.transport.state != .connected, self.transport.state != .closed else { return }
            self.transport.close()
        }
        timer.schedule(afterMilliseconds: connectTimeoutMilliseconds)
        connectTimer = timer
        return answer
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
        transport.close()
    }

    // MARK: Inbound routing

    @inline(__always)
    fileprivate func route(_ bytes: UnsafeMutableRawBufferPointer) {
        let packet: RTPPacket
        do { packet = try RTPPacket(UnsafeRawBufferPointer(bytes)) } catch { malformedPackets += 1; return }
        var index = ssrcRoutes[packet.ssrc] ?? -1
        if index < 0 {
            if let id = midExtensionID, let mid = packet.headerExtension(id: id) {
                index = mids.firstIndex { $0.elementsEqual(mid) } ?? -1
            }
            if index < 0 { index = payloadTypeRoutes[Int(packet.payloadType)] }
            guard index >= 0 else { unroutablePackets += 1; return }
            ssrcRoutes[packet.ssrc] = index
        }
        guard packet.payloadType == negotiated[index].codec.payloadType else {
            unexpectedPayloadTypePackets += 1
            return
        }
        delegate?.peerConnection(self, didReceiveRTP: bytes, media: index)
    }

    fileprivate func stateChanged(_ state: PeerTransport.State) {
        if state == .connected || state == .closed {
            connectTimer?.cancel()
            connectTimer = nil
        }
        delegate?.peerConnection(self, didChangeState: state)
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
        func peerTransport(_ transport: PeerTransport, didReceiveRTCP packet: UnsafeMutableRawBufferPointer) {
            guard let owner else { return }
            owner.delegate?.peerConnection(owner, didReceiveRTCP: packet)
        }
    }
}
