#if canImport(Glibc)
import Glibc
#endif

/// Events from a `PeerTransport`, synchronous on its worker thread. Buffers are valid only during
/// the call. RTP/RTCP arrive already unprotected, in place (RTP in its receive-queue slot, RTCP in
/// libnice's receive buffer), so the receiver may parse them as views and rewrite them without
/// copying.
public protocol PeerTransportDelegate: AnyObject {
    func peerTransport(_ transport: PeerTransport, didChangeState state: PeerTransport.State)
    func peerTransport(_ transport: PeerTransport, didGatherCandidate candidate: String)
    func peerTransport(_ transport: PeerTransport, didReceiveRTP packet: UnsafeMutableRawBufferPointer)
    /// The RTP packets delivered since the last call were a batch (one receive-queue dispatch, or
    /// one packet on the inline path): work grouped over them can be finished now.
    func peerTransportDidFinishReceivingRTP(_ transport: PeerTransport)
    func peerTransport(_ transport: PeerTransport, didReceiveRTCP packet: UnsafeMutableRawBufferPointer)
    func peerTransport(_ transport: PeerTransport, didReceiveApplicationData data: UnsafeRawBufferPointer)
}

extension PeerTransportDelegate {
    public func peerTransport(_ transport: PeerTransport, didGatherCandidate candidate: String) {}
    public func peerTransportDidFinishReceivingRTP(_ transport: PeerTransport) {}
    public func peerTransport(_ transport: PeerTransport, didReceiveRTCP packet: UnsafeMutableRawBufferPointer) {}
    public func peerTransport(_ transport: PeerTransport, didReceiveApplicationData data: UnsafeRawBufferPointer) {}
}

public struct PeerTransportConfiguration: Sendable {
    public var ice: ICEConfiguration
    /// From the SDP `a=setup` negotiation: `.client` for active, `.server` for passive.
    public var dtlsRole: DTLSTransport.Role

    public init(ice: ICEConfiguration, dtlsRole: DTLSTransport.Role) {
        self.ice = ice
        self.dtlsRole = dtlsRole
    }
}

public enum PeerTransportError: Error, Sendable, Equatable {
    case notConnected
    case packetTooLarge
    case srtp(SRTPError)
    case dtls(DTLSError)
    case ice(ICEError)
}

/// The media transport of one peer over one BUNDLEd 5-tuple: ICE (libnice) carries DTLS and
/// SRTP/SRTCP, demultiplexed by first byte (RFC 7983). When ICE connects, DTLS starts; when DTLS
/// connects, SRTP sessions are keyed from it. SCTP will ride on the DTLS application data.
/// Loop-confined: create, use and drop it on its worker (e.g. from an actor on that worker).
public final class PeerTransport {
    public enum State: Sendable, Equatable {
        case new
        /// ICE checks running.
        case connecting
        /// ICE has a pair; DTLS handshake running.
        case securing
        /// DTLS done, SRTP keyed: media flows.
        case connected
        case failed(String)
        case closed
    }

    /// Largest RTP/RTCP packet `sendRTP`/`sendRTCP` accept (before the SRTP trailer).
    public static let maxPacketSize = 1500

    public let worker: MediaWorker
    public private(set) var configuration: PeerTransportConfiguration
    public let certificate: DTLSCertificate
    public weak var delegate: (any PeerTransportDelegate)?
    public private(set) var state: State = .new
    public private(set) var srtpProfile: SRTPProfile?
    public private(set) var selectedPair: ICEAgent.CandidatePair?

    /// Counters (read on the worker).
    public private(set) var srtpUnprotectFailures = 0
    public private(set) var unknownPackets = 0
    public private(set) var sendFailures = 0
    /// Received RTP dropped because the receive queue was full (the worker fell behind).
    public var receiveQueueDrops: Int { receiveQueue?.drops ?? 0 }
    /// The deepest the receive queue has been, in packets.
    public var receiveQueueHighWater: Int { receiveQueue?.highWater ?? 0 }
    /// Received RTP dropped by every transport of the process since it started (full queues).
    public static var receiveQueueDropsTotal: Int { ReceiveQueue.droppedTotal.load(ordering: .relaxed) }

    /// Received RTP is processed from a queue drained in bounded batches (see `ReceiveQueue`),
    /// not inside libnice's receive callback. SLUICE_RECEIVE_INLINE=1 restores the inline path,
    /// only to measure what the queue changes.
    static let receiveInline = getenv("SLUICE_RECEIVE_INLINE").map { String(cString: $0) == "1" } ?? false

    private let ice: ICEAgent
    private var dtls: DTLSTransport
    private var inbound: SRTPSession?
    private var outbound: SRTPSession?
    /// The worker's `sendScratch`.
    private let scratch: UnsafeMutableRawBufferPointer
    private let listener: Listener
    /// Created with the first RTP packet (only transports that receive media need one).
    private var receiveQueue: ReceiveQueue?

    public init(worker: MediaWorker, configuration: PeerTransportConfiguration,
                certificate: DTLSCertificate) throws(PeerTransportError) {
        worker.preconditionIsCurrent()
        self.worker = worker
        self.configuration = configuration
        self.certificate = certificate
        do {
            ice = try ICEAgent(worker: worker, configuration: configuration.ice)
        } catch { throw .ice(error) }
        do {
            dtls = try DTLSTransport(certificate: certificate, role: configuration.dtlsRole,
                                     remoteFingerprint: nil, worker: worker)
        } catch { throw .dtls(error) }
        scratch = worker.sendScratch
        listener = Listener()
        listener.owner = self
        ice.delegate = listener
        dtls.delegate = listener
    }

    deinit {
        receiveQueue?.detach()
    }

    // MARK: Signalling inputs/outputs

    public var localFingerprint: String { certificate.fingerprint }
    public var localCredentials: (ufrag: String, password: String) { ice.localCredentials }
    public var localCandidates: [String] { ice.localCandidates }
    public var iceGatheringDone: Bool { ice.gatheringDone }

    public func gatherCandidates() throws(PeerTransportError) {
        do { try ice.gatherCandidates() } catch { throw .ice(error) }
    }

    /// Remote `a=ice-ufrag`, `a=ice-pwd` and `a=fingerprint:sha-256` values.
    public func setRemote(ufrag: String, password: String, fingerprint: String) throws(PeerTransportError) {
        dtls.remoteFingerprint = fingerprint
        do { try ice.setRemoteCredentials(ufrag: ufrag, password: password) } catch { throw .ice(error) }
        if state == .new { setState(.connecting) }
    }

    /// ICE restart: new local credentials (read `localCredentials` for the SDP), then call
    /// `setRemote` with the peer's new ones. DTLS and SRTP carry on over whichever pair wins.
    public func restartICE() throws(PeerTransportError) {
        do { try ice.restart() } catch { throw .ice(error) }
    }

    /// Changes the DTLS role before the handshake starts. An offerer (`a=setup:actpass`) learns its
    /// role only from the answer, after its transport was created to gather candidates.
    public func setDTLSRole(_ role: DTLSTransport.Role) throws(PeerTransportError) {
        guard role != configuration.dtlsRole else { return }
        guard state == .new || state == .connecting else { return }
        let replacement: DTLSTransport
        do {
            replacement = try DTLSTransport(certificate: certificate, role: role, remoteFingerprint: dtls.remoteFingerprint,
                                            worker: worker)
        } catch { throw .dtls(error) }
        dtls.delegate = nil
        dtls = replacement
        dtls.delegate = listener
        configuration.dtlsRole = role
    }

    /// One remote `candidate:` line (trickled or from the SDP).
    @discardableResult
    public func addRemoteCandidate(_ candidate: String) throws(PeerTransportError) -> Bool {
        do { return try ice.addRemoteCandidate(candidate) } catch { throw .ice(error) }
    }

    /// The peer's end-of-candidates (trickle ICE).
    public func remoteCandidatesComplete() {
        ice.remoteGatheringDone()
    }

    // MARK: Media out

    /// Protects a copy of `packet` (plain RTP) in the worker's scratch buffer and sends it.
    /// The caller's bytes are untouched (rewrite-send-restore friendly). No allocation.
    @discardableResult
    public func sendRTP(_ packet: UnsafeRawBufferPointer) throws(PeerTransportError) -> Bool {
        try sendProtected(packet, rtcp: false)
    }

    @discardableResult
    public func sendRTCP(_ packet: UnsafeRawBufferPointer) throws(PeerTransportError) -> Bool {
        try sendProtected(packet, rtcp: true)
    }

    /// Application data over DTLS (SCTP packets).
    public func sendApplicationData(_ data: UnsafeRawBufferPointer) throws(PeerTransportError) {
        do { try dtls.send(data) } catch { throw .dtls(error) }
    }

    public func close() {
        guard state != .closed else { return }
        dtls.close()
        receiveQueue?.detach()
        inbound = nil
        outbound = nil
        ice.close()  // after the DTLS close_notify went out
        setState(.closed)
    }

    @inline(__always)
    private func sendProtected(_ packet: UnsafeRawBufferPointer, rtcp: Bool) throws(PeerTransportError) -> Bool {
        guard let outbound else { throw .notConnected }
        guard packet.count <= Self.maxPacketSize else { throw .packetTooLarge }
        scratch.copyMemory(from: packet)
        let length: Int
        do {
            length = rtcp ? try outbound.protectRTCP(scratch, length: packet.count)
                          : try outbound.protectRTP(scratch, length: packet.count)
        } catch { throw .srtp(error) }
        let sent = ice.send(UnsafeRawBufferPointer(rebasing: scratch[0..<length]))
        if !sent { sendFailures += 1 }
        return sent
    }

    // MARK: Events from ICE and DTLS

    fileprivate func iceStateChanged(_ iceState: ICEAgent.State) {
        switch iceState {
        case .connected, .ready:
            if state == .connecting || state == .new {
                setState(.securing)
                dtls.start()
            }
        case .failed:
            // Includes consent loss (RFC 7675) on an established transport.
            if state != .closed { setState(.failed("ICE failed")) }
        case .disconnected, .gathering, .connecting:
            break
        }
    }

    fileprivate func received(_ datagram: UnsafeMutableRawBufferPointer) {
        switch PacketKind.classify(UnsafeRawBufferPointer(datagram)) {
        case .rtp:
            guard inbound != nil else { unknownPackets += 1; return }
            if Self.receiveInline { receivedRTPAlone(datagram); return }
            if receiveQueue == nil {
                receiveQueue = ReceiveQueue(
                    worker: worker, handler: { [unowned self] datagram in self.receivedRTP(datagram) },
                    batchEnded: { [unowned self] in self.delegate?.peerTransportDidFinishReceivingRTP(self) })
            }
            // Too large for a slot (never for RTP within our MTU): handled here.
            if !receiveQueue!.push(UnsafeRawBufferPointer(datagram)) { receivedRTPAlone(datagram) }
        case .rtcp:
            guard let inbound else { unknownPackets += 1; return }
            do {
                let n = try inbound.unprotectRTCP(datagram, length: datagram.count)
                delegate?.peerTransport(self, didReceiveRTCP: UnsafeMutableRawBufferPointer(rebasing: datagram[0..<n]))
            } catch { srtpUnprotectFailures += 1 }
        case .dtls:
            if state == .connecting || state == .new { setState(.securing) }  // peer's pair won first
            dtls.handleDatagram(UnsafeRawBufferPointer(datagram))
        case .stun, .unknown:
            unknownPackets += 1
        }
    }

    /// One SRTP datagram handled outside the receive queue: a batch of its own.
    private func receivedRTPAlone(_ datagram: UnsafeMutableRawBufferPointer) {
        receivedRTP(datagram)
        delegate?.peerTransportDidFinishReceivingRTP(self)
    }

    /// One SRTP datagram: unprotected in place, then to the delegate (from the receive queue).
    @inline(__always)
    private func receivedRTP(_ datagram: UnsafeMutableRawBufferPointer) {
        guard let inbound else { unknownPackets += 1; return }
        do {
            let n = try inbound.unprotectRTP(datagram, length: datagram.count)
            delegate?.peerTransport(self, didReceiveRTP: UnsafeMutableRawBufferPointer(rebasing: datagram[0..<n]))
        } catch { srtpUnprotectFailures += 1 }
    }

    fileprivate func dtlsStateChanged(_ dtlsState: DTLSTransport.State) {
        switch dtlsState {
        case .connected:
            guard let keys = dtls.srtpKeys else { setState(.failed("DTLS gave no SRTP keys")); return }
            do {
                inbound = try SRTPSession(keys.remote, direction: .inbound)
                outbound = try SRTPSession(keys.local, direction: .outbound)
            } catch {
                setState(.failed("SRTP: \(error)"))
                return
            }
            srtpProfile = keys.profile
            setState(.connected)
        case .failed(let error):
            setState(.failed("DTLS: \(error)"))
        case .closed:
            if state != .closed { setState(.closed) }
        case .new, .connecting:
            break
        }
    }

    private func setState(_ new: State) {
        guard state != new else { return }
        if case .failed = state { return }
        state = new
        delegate?.peerTransport(self, didChangeState: new)
    }

    /// Receives ICE and DTLS events without making PeerTransport itself conform publicly.
    private final class Listener: ICEAgentDelegate, DTLSTransportDelegate {
        weak var owner: PeerTransport?

        func iceAgent(_ agent: ICEAgent, didChangeState state: ICEAgent.State) {
            owner?.iceStateChanged(state)
        }
        func iceAgent(_ agent: ICEAgent, didGatherCandidate candidate: String) {
            guard let owner else { return }
            owner.delegate?.peerTransport(owner, didGatherCandidate: candidate)
        }
        func iceAgent(_ agent: ICEAgent, didSelectPair pair: ICEAgent.CandidatePair) {
            owner?.selectedPair = pair
        }
        @inline(__always)
        func iceAgent(_ agent: ICEAgent, didReceive datagram: UnsafeMutableRawBufferPointer) {
            owner?.received(datagram)
        }
        func dtlsTransport(_ transport: DTLSTransport, send datagram: UnsafeRawBufferPointer) {
            owner?.ice.send(datagram)
        }
        func dtlsTransport(_ transport: DTLSTransport, didChangeState state: DTLSTransport.State) {
            owner?.dtlsStateChanged(state)
        }
        func dtlsTransport(_ transport: DTLSTransport, didReceive applicationData: UnsafeRawBufferPointer) {
            guard let owner else { return }
            owner.delegate?.peerTransport(owner, didReceiveApplicationData: applicationData)
        }
    }
}
