import CNice
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// Events from an `ICEAgent`, delivered synchronously on its worker thread.
public protocol ICEAgentDelegate: AnyObject {
    func iceAgent(_ agent: ICEAgent, didChangeState state: ICEAgent.State)
    /// A local candidate as an SDP attribute value ("candidate:1 1 UDP ... typ host").
    func iceAgent(_ agent: ICEAgent, didGatherCandidate candidate: String)
    func iceAgentDidFinishGathering(_ agent: ICEAgent)
    func iceAgent(_ agent: ICEAgent, didSelectPair pair: ICEAgent.CandidatePair)
    /// One datagram from the selected 5-tuple. The bytes are libnice's receive buffer, valid only
    /// during the call; they may be modified in place (e.g. SRTP unprotect).
    /// An actor conformer enters itself with `assumeIsolated`; Swift 6 region checking then needs
    /// `nonisolated(unsafe) let datagram = datagram` first (sound: the closure runs synchronously
    /// on this thread and must not keep the pointer).
    func iceAgent(_ agent: ICEAgent, didReceive datagram: UnsafeMutableRawBufferPointer)
}

extension ICEAgentDelegate {
    public func iceAgent(_ agent: ICEAgent, didGatherCandidate candidate: String) {}
    public func iceAgentDidFinishGathering(_ agent: ICEAgent) {}
    public func iceAgent(_ agent: ICEAgent, didSelectPair pair: ICEAgent.CandidatePair) {}
}

public struct ICEConfiguration: Sendable {
    /// Controlling (usually the offerer; a full-ICE SFU answering a browser is controlled).
    public var controlling: Bool
    /// Host candidates are gathered on these addresses only (e.g. "127.0.0.1"); empty = all.
    public var localAddresses: [String]
    /// UDP port range for host candidates; nil = ephemeral.
    public var portRange: ClosedRange<UInt16>?
    /// RFC 5245 regular nomination instead of libnice's default aggressive nomination.
    public var regularNomination: Bool
    /// Trickle ICE (RFC 8838): remote candidates may arrive after checks start; call
    /// `remoteGatheringDone()` at the peer's end-of-candidates.
    public var trickle: Bool
    /// RFC 7675 consent freshness: detect a peer that stopped answering after connecting.
    public var consentFreshness: Bool
    /// ICE-TCP (RFC 6544) besides UDP: each host address also gets a passive TCP candidate, a
    /// listening socket of this agent's own on a port from `portRange` (TCP and UDP ports are
    /// separate spaces; libnice takes both from the one range), so clients whose UDP is blocked
    /// can connect. Media on a TCP pair is framed per RFC 4571 by libnice.
    public var tcp: Bool
    /// With `tcp`: also take the peer's passive TCP candidates, and so connect out to them.
    /// Sluice never does (it is the side clients reach); a test playing the client does.
    public var dialsOutOverTCP: Bool

    public init(controlling: Bool, localAddresses: [String] = ["127.0.0.1"],
                portRange: ClosedRange<UInt16>? = nil, regularNomination: Bool = false,
                trickle: Bool = false, consentFreshness: Bool = true, tcp: Bool = false, dialsOutOverTCP: Bool = false) {
        self.consentFreshness = consentFreshness
        self.tcp = tcp
        self.dialsOutOverTCP = dialsOutOverTCP
        self.controlling = controlling
        self.localAddresses = localAddresses
        self.portRange = portRange
        self.regularNomination = regularNomination
        self.trickle = trickle
    }
}

public enum ICEError: Error, Sendable, Equatable {
    case agentCreation
    case invalidAddress(String)
    case streamCreation
    case gatheringFailed
    case invalidCandidate(String)
    case credentials
}

/// One libnice agent in RFC 5245 mode with one stream of one component (BUNDLE + rtcp-mux),
/// running on a `MediaWorker`'s context. Loop-confined: create, use and release it on that worker.
/// The agent is owned here and unref'd in deinit.
public final class ICEAgent {
    public enum State: UInt32, Sendable {
        case disconnected, gathering, connecting, connected, ready, failed
    }

    public struct CandidatePair: Sendable, Equatable, CustomStringConvertible {
        public var localAddress: String
        public var localPort: UInt16
        public var remoteAddress: String
        public var remotePort: UInt16
        /// "udp" or "tcp" (the local candidate's transport).
        public var transport: String = "udp"
        /// The local and remote candidate types ("host", "srflx", "prflx", "relay").
        public var localType: String = "host"
        public var remoteType: String = "host"

        public var description: String {
            "\(transport) \(localAddress):\(localPort) (\(localType)) <-> \(remoteAddress):\(remotePort) (\(remoteType))"
        }
    }

    public let worker: MediaWorker
    public let configuration: ICEConfiguration
    public weak var delegate: (any ICEAgentDelegate)?
    public private(set) var state: State = .disconnected
    public private(set) var selectedPair: CandidatePair?
    public private(set) var gatheringDone = false

    private let agent: OpaquePointer
    private let streamID: UInt32
    private let componentID: UInt32 = 1

    /// The selected pair as a plain UDP socket and peer address, when it is one (a host or
    /// server-reflexive local candidate; not TURN, not TCP). Media then leaves with one sendto(2)
    /// on libnice's own socket instead of through `nice_agent_send`, whose agent lock, stream
    /// lookup and GSocket/GSocketAddress layers cost about as much as our whole forwarding
    /// decision, once per packet per subscriber. libnice still owns the socket and does
    /// everything else on it (checks, consent, keepalives, receiving); the path is dropped
    /// whenever the pair changes or the component leaves connected/ready.
    /// `SLUICE_NICE_SEND=1` keeps every packet on `nice_agent_send` (A/B measurements).
    private var directSocket: UnsafeMutableRawPointer?
    private var directDescriptor: Int32 = -1
    private let directAddress: UnsafeMutablePointer<sockaddr_storage>
    private var directAddressLength: socklen_t = 0
    private static let sendThroughLibnice = getenv("SLUICE_NICE_SEND").map { String(cString: $0) == "1" } ?? false

    /// Whether media currently bypasses `nice_agent_send` (see `directSocket`).
    public var sendsDirectly: Bool { directDescriptor >= 0 }

    public init(worker: MediaWorker, configuration: ICEConfiguration) throws(ICEError) {
        worker.preconditionIsCurrent()
        self.worker = worker
        self.configuration = configuration
        var options: UInt32 = 0
        if configuration.regularNomination { options |= NICE_AGENT_OPTION_REGULAR_NOMINATION.rawValue }
        if configuration.trickle { options |= NICE_AGENT_OPTION_ICE_TRICKLE.rawValue }
        // RFC 7675: keep asking the peer for consent, and fail the component when it stops
        // answering (about 30 s), so a peer that vanishes without a goodbye is freed.
        if configuration.consentFreshness { options |= NICE_AGENT_OPTION_CONSENT_FRESHNESS.rawValue }
        guard let agent = sluice_nice_agent_new(worker.context, configuration.controlling ? 1 : 0, options,
                                               configuration.tcp ? 1 : 0) else {
            throw .agentCreation
        }
        for text in configuration.localAddresses {
            var address = NiceAddress()
            nice_address_init(&address)
            guard nice_address_set_from_string(&address, text) != 0 else {
                g_object_unref(UnsafeMutableRawPointer(agent))
                throw .invalidAddress(text)
            }
            _ = nice_agent_add_local_address(agent, &address)
        }
        let stream = nice_agent_add_stream(agent, 1)
        guard stream != 0 else {
            g_object_unref(UnsafeMutableRawPointer(agent))
            throw .streamCreation
        }
        if let range = configuration.portRange {
            nice_agent_set_port_range(agent, stream, 1, UInt32(range.lowerBound), UInt32(range.upperBound))
        }
        self.agent = agent
        self.streamID = stream
        directAddress = .allocate(capacity: 1)
        directAddress.initialize(to: sockaddr_storage())

        let me = Unmanaged.passUnretained(self).toOpaque()
        var callbacks = SluiceNiceCallbacks(
            state_changed: { _, _, _, state, data in
                ICEAgent.from(data).componentStateChanged(state)
            },
            gathering_done: { _, _, data in
                ICEAgent.from(data).gatheringFinished()
            },
            new_selected_pair: { _, _, _, local, remote, data in
                guard let local, let remote else { return }
                ICEAgent.from(data).selectedPairChanged(local: local, remote: remote)
            },
            new_candidate: { _, candidate, data in
                guard let candidate else { return }
                ICEAgent.from(data).candidateGathered(candidate)
            })
        sluice_nice_connect_signals(agent, &callbacks, me)
        nice_agent_attach_recv(agent, stream, 1, worker.context, { _, _, _, length, buffer, data in
            guard let buffer else { return }
            ICEAgent.from(data).received(UnsafeMutableRawBufferPointer(start: buffer, count: Int(length)))
        }, me)
    }

    deinit {
        close()
        directAddress.deallocate()
        sluice_object_unref(UnsafeMutableRawPointer(agent))
    }

    /// True once `close()` ran: the stream and its sockets are gone.
    public private(set) var isClosed = false

    /// Gives the stream's sockets (and libnice's per-component descriptors) back now rather than
    /// when the last reference to this agent goes: a closed connection is still referenced for
    /// as long as its owner's signalling lingers (a client holding its WebSocket half-open kept
    /// two UDP ports per participant open after everyone left, in issue #20's soak). Idempotent;
    /// afterwards sends fail and remote input is ignored.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        dropDirectPath()
        let me = Unmanaged.passUnretained(self).toOpaque()
        nice_agent_attach_recv(agent, streamID, componentID, worker.context, nil, nil)
        sluice_signals_disconnect_by_data(UnsafeMutableRawPointer(agent), me)
        nice_agent_remove_stream(agent, streamID)
    }

    @inline(__always)
    private static func from(_ data: UnsafeMutableRawPointer?) -> ICEAgent {
        Unmanaged<ICEAgent>.fromOpaque(data!).takeUnretainedValue()
    }

    // MARK: Local side

    /// Gathers host candidates (reported through the delegate, then `iceAgentDidFinishGathering`).
    public func gatherCandidates() throws(ICEError) {
        guard !isClosed else { throw .gatheringFailed }
        guard nice_agent_gather_candidates(agent, streamID) != 0 else { throw .gatheringFailed }
    }

    /// ICE restart (RFC 8445 §9): new local credentials, remote candidates forgotten, local
    /// candidates kept; checks run again once the peer's new credentials are set. The selected
    /// pair keeps carrying data until a new one is chosen.
    public func restart() throws(ICEError) {
        guard !isClosed else { throw .credentials }
        guard nice_agent_restart_stream(agent, streamID) != 0 else { throw .credentials }
    }

    /// Local ufrag and password for the SDP (`a=ice-ufrag`, `a=ice-pwd`).
    public var localCredentials: (ufrag: String, password: String) {
        guard !isClosed else { return ("", "") }
        var ufrag: UnsafeMutablePointer<gchar>?
        var pwd: UnsafeMutablePointer<gchar>?
        _ = nice_agent_get_local_credentials(agent, streamID, &ufrag, &pwd)
        defer { g_free(ufrag); g_free(pwd) }
        return (ufrag.map { String(cString: $0) } ?? "", pwd.map { String(cString: $0) } ?? "")
    }

    /// Local candidates gathered so far, as SDP attribute values ("candidate:...").
    public var localCandidates: [String] {
        guard !isClosed, let list = nice_agent_get_local_candidates(agent, streamID, componentID) else { return [] }
        var result: [String] = []
        var node: UnsafeMutablePointer<GSList>? = list
        while let current = node {
            if let candidate = current.pointee.data?.assumingMemoryBound(to: NiceCandidate.self) {
                if Self.isAdvertised(candidate) { result.append(candidateSDP(candidate)) }
                nice_candidate_free(candidate)
            }
            node = current.pointee.next
        }
        g_slist_free(list)
        return result
    }

    /// Whether a local candidate goes to the peer. libnice also gathers active TCP candidates
    /// (no port: they only connect out); a server is reached, so only passive ones are offered
    /// (RFC 6544 §4.5 lets an agent leave a tcptype out).
    private static func isAdvertised(_ candidate: UnsafeMutablePointer<NiceCandidate>) -> Bool {
        candidate.pointee.transport != NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE
    }

    private func candidateSDP(_ candidate: UnsafeMutablePointer<NiceCandidate>) -> String {
        guard let raw = nice_agent_generate_local_candidate_sdp(agent, candidate) else { return "" }
        defer { g_free(raw) }
        let line = String(cString: raw)
        return line.hasPrefix("a=") ? String(line.dropFirst(2)) : line
    }

    // MARK: Remote side

    public func setRemoteCredentials(ufrag: String, password: String) throws(ICEError) {
        guard !isClosed else { throw .credentials }
        guard nice_agent_set_remote_credentials(agent, streamID, ufrag, password) != 0 else { throw .credentials }
    }

    /// Adds one remote candidate given as an SDP attribute ("candidate:..." or "a=candidate:...").
    /// Ignored (returns false): other components (RTCP without rtcp-mux), TCP unless
    /// `configuration.tcp` (and then all but active TCP candidates), and mDNS ("….local") host candidates, which libnice cannot resolve;
    /// the browser's checks still reach us and become peer-reflexive candidates.
    @discardableResult
    public func addRemoteCandidate(_ sdp: String) throws(ICEError) -> Bool {
        guard !isClosed else { return false }
        var line = sdp
        while line.last == "\r" || line.last == "\n" || line.last == " " { line.removeLast() }
        // libnice's parser wants the "a=candidate:" form.
        if !line.hasPrefix("a=") { line = "a=" + line }
        let fields = line.split(separator: " ", maxSplits: 5)
        if fields.count > 4, fields[4].hasSuffix(".local") { return false }
        guard let candidate = nice_agent_parse_remote_candidate_sdp(agent, streamID, line) else {
            throw .invalidCandidate(sdp)
        }
        defer { nice_candidate_free(candidate) }
        // Of TCP candidates only active ones are taken: the server is the passive side
        // (RFC 6544), so libnice never dials out to a client's passive or simultaneous-open
        // candidate, and media uses the connection the client opened to our listening port.
        let transport = candidate.pointee.transport
        guard candidate.pointee.component_id == componentID,
              transport == NICE_CANDIDATE_TRANSPORT_UDP
                || (configuration.tcp && transport == NICE_CANDIDATE_TRANSPORT_TCP_ACTIVE)
                || (configuration.tcp && configuration.dialsOutOverTCP && transport == NICE_CANDIDATE_TRANSPORT_TCP_PASSIVE)
        else { return false }
        let list = g_slist_append(nil, candidate)
        defer { g_slist_free(list) }
        return nice_agent_set_remote_candidates(agent, streamID, componentID, list) > 0
    }

    /// The peer signalled end-of-candidates (trickle mode): ICE may now conclude or fail.
    public func remoteGatheringDone() {
        guard !isClosed else { return }
        _ = nice_agent_peer_candidate_gathering_done(agent, streamID)
    }

    // MARK: Data

    /// Sends one datagram on the selected pair. Returns false when ICE has no pair yet or the
    /// socket would block (the datagram is dropped, like UDP).
    @inline(__always)
    @discardableResult
    public func send(_ datagram: UnsafeRawBufferPointer) -> Bool {
        guard let base = datagram.baseAddress, !isClosed else { return false }
        if directDescriptor >= 0 {
            let sent = directAddress.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(directDescriptor, base, datagram.count, Int32(MSG_NOSIGNAL), $0, directAddressLength)
            }
            return sent == datagram.count
        }
        let sent = nice_agent_send(agent, streamID, componentID, UInt32(datagram.count),
                                   base.assumingMemoryBound(to: gchar.self))
        return sent == Int32(datagram.count)
    }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { send($0) }
    }

    // MARK: Callbacks (worker thread)

    private func componentStateChanged(_ raw: UInt32) {
        guard let new = State(rawValue: raw), new != state else { return }
        state = new
        if new != .connected, new != .ready { dropDirectPath() }
        delegate?.iceAgent(self, didChangeState: new)
    }

    private func gatheringFinished() {
        gatheringDone = true
        delegate?.iceAgentDidFinishGathering(self)
    }

    private func candidateGathered(_ candidate: UnsafeMutablePointer<NiceCandidate>) {
        guard Self.isAdvertised(candidate) else { return }
        delegate?.iceAgent(self, didGatherCandidate: candidateSDP(candidate))
    }

    private func selectedPairChanged(local: UnsafeMutablePointer<NiceCandidate>, remote: UnsafeMutablePointer<NiceCandidate>) {
        let pair = CandidatePair(localAddress: Self.addressString(&local.pointee.addr),
                                 localPort: UInt16(nice_address_get_port(&local.pointee.addr)),
                                 remoteAddress: Self.addressString(&remote.pointee.addr),
                                 remotePort: UInt16(nice_address_get_port(&remote.pointee.addr)),
                                 transport: local.pointee.transport == NICE_CANDIDATE_TRANSPORT_UDP ? "udp" : "tcp",
                                 localType: Self.typeName(local.pointee.type),
                                 remoteType: Self.typeName(remote.pointee.type))
        selectedPair = pair
        takeDirectPath(local: local, remote: remote)
        delegate?.iceAgent(self, didSelectPair: pair)
    }

    /// Uses the newly selected pair's socket directly when it is plain UDP (see `directSocket`).
    /// A TCP pair never does: its datagrams need libnice's RFC 4571 length prefix and its
    /// stream socket's send queue, so they all go through `nice_agent_send`.
    private func takeDirectPath(local: UnsafeMutablePointer<NiceCandidate>, remote: UnsafeMutablePointer<NiceCandidate>) {
        dropDirectPath()
        guard !Self.sendThroughLibnice,
              local.pointee.transport == NICE_CANDIDATE_TRANSPORT_UDP,
              remote.pointee.transport == NICE_CANDIDATE_TRANSPORT_UDP,
              local.pointee.type != NICE_CANDIDATE_TYPE_RELAYED,
              let socket = nice_agent_get_selected_socket(agent, streamID, componentID) else { return }
        let descriptor = g_socket_get_fd(socket)
        directAddress.pointee = sockaddr_storage()
        directAddress.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            nice_address_copy_to_sockaddr(&remote.pointee.addr, $0)
        }
        let family = Int32(directAddress.pointee.ss_family)
        guard descriptor >= 0, family == AF_INET || family == AF_INET6 else {
            g_object_unref(UnsafeMutableRawPointer(socket))
            return
        }
        directSocket = UnsafeMutableRawPointer(socket)
        directDescriptor = descriptor
        directAddressLength = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
    }

    private func dropDirectPath() {
        directDescriptor = -1
        directAddressLength = 0
        if let socket = directSocket {
            directSocket = nil
            g_object_unref(socket)
        }
    }

    @inline(__always)
    private func received(_ datagram: UnsafeMutableRawBufferPointer) {
        delegate?.iceAgent(self, didReceive: datagram)
    }

    private static func typeName(_ type: NiceCandidateType) -> String {
        switch type {
        case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE: "srflx"
        case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE: "prflx"
        case NICE_CANDIDATE_TYPE_RELAYED: "relay"
        default: "host"
        }
    }

    private static func addressString(_ address: UnsafeMutablePointer<NiceAddress>) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        nice_address_to_string(address, &buffer)
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
