import Testing
import WebRTC

/// One side of a call for tests: an actor on a media worker owning an ICE agent, and later a
/// DTLS transport and SRTP sessions over it. Callbacks from libnice enter it with assumeIsolated.
actor ICEPeer: ICEAgentDelegate, DTLSTransportDelegate {
    let worker: MediaWorker
    nonisolated var unownedExecutor: UnownedSerialExecutor { worker.asUnownedSerialExecutor() }

    var agent: ICEAgent?
    var states: [ICEAgent.State] = []
    var gathered = false
    var pair: ICEAgent.CandidatePair?
    var other: [[UInt8]] = []
    var startedAt: ContinuousClock.Instant?
    var connectedAfter: Duration?

    var dtls: DTLSTransport?
    var dtlsState: DTLSTransport.State = .new
    var dtlsDatagramsOut = 0
    var dropNextDTLS = 0
    var appData: [[UInt8]] = []
    var srtpIn: SRTPSession?
    var srtpOut: SRTPSession?
    var rtp: [[UInt8]] = []
    var rtcp: [[UInt8]] = []
    var srtpErrors: [SRTPError] = []
    var offLoopCallbacks = 0

    init(worker: MediaWorker) { self.worker = worker }

    func start(controlling: Bool, portRange: ClosedRange<UInt16>? = nil, trickle: Bool = false,
               tcp: Bool = false, dialsOutOverTCP: Bool = false) throws -> (ufrag: String, pwd: String) {
        let agent = try ICEAgent(worker: worker, configuration: ICEConfiguration(
            controlling: controlling, localAddresses: ["127.0.0.1"], portRange: portRange, trickle: trickle, tcp: tcp,
            dialsOutOverTCP: dialsOutOverTCP))
        agent.delegate = self
        self.agent = agent
        try agent.gatherCandidates()
        let credentials = agent.localCredentials
        return (credentials.ufrag, credentials.password)
    }

    func localCandidates() -> [String] { agent?.localCandidates ?? [] }

    func setRemote(ufrag: String, pwd: String, candidates: [String]) throws -> Int {
        guard let agent else { return 0 }
        try agent.setRemoteCredentials(ufrag: ufrag, password: pwd)
        startedAt = .now
        var added = 0
        for c in candidates where try agent.addRemoteCandidate(c) { added += 1 }
        return added
    }

    func addRemoteCandidate(_ c: String) throws -> Bool { try agent?.addRemoteCandidate(c) ?? false }
    func remoteGatheringDone() { agent?.remoteGatheringDone() }

    var isConnected: Bool { states.last == .connected || states.last == .ready }

    func send(_ bytes: [UInt8]) -> Bool { agent?.send(bytes) ?? false }
    var sendsDirectly: Bool { agent?.sendsDirectly ?? false }

    func startDTLS(role: DTLSTransport.Role, certificate: DTLSCertificate, remoteFingerprint: String) throws {
        let dtls = try DTLSTransport(certificate: certificate, role: role,
                                     remoteFingerprint: remoteFingerprint, worker: worker)
        dtls.delegate = self
        self.dtls = dtls
        dtls.start()
    }

    func sendRTP(sequence: UInt16, payload: [UInt8]) throws -> Bool {
        guard let srtpOut, let agent else { return false }
        let plain = makeRTP(sequence: sequence, payload: payload)
        var buffer = plain + [UInt8](repeating: 0, count: SRTPSession.maxRTPTrailer)
        return try buffer.withUnsafeMutableBytes { raw in
            let n = try srtpOut.protectRTP(raw, length: plain.count)
            return agent.send(UnsafeRawBufferPointer(rebasing: raw[0..<n]))
        }
    }

    func sendRTCP() throws -> Bool {
        guard let srtpOut, let agent else { return false }
        let plain = makeRTCP()
        var buffer = plain + [UInt8](repeating: 0, count: SRTPSession.maxRTCPTrailer)
        return try buffer.withUnsafeMutableBytes { raw in
            let n = try srtpOut.protectRTCP(raw, length: plain.count)
            return agent.send(UnsafeRawBufferPointer(rebasing: raw[0..<n]))
        }
    }

    func sendAppData(_ bytes: [UInt8]) throws { try dtls?.send(bytes) }

    func close() {
        dtls = nil
        srtpIn = nil
        srtpOut = nil
        agent = nil
    }

    // MARK: Callbacks: synchronous on the worker thread, entered without a Task.

    private func checkThread() { if !worker.isCurrent { offLoopCallbacks += 1 } }

    nonisolated func iceAgent(_ agent: ICEAgent, didChangeState state: ICEAgent.State) {
        assumeIsolated { peer in
            peer.checkThread()
            peer.states.append(state)
            if (state == .connected || state == .ready), peer.connectedAfter == nil, let t = peer.startedAt {
                peer.connectedAfter = .now - t
            }
        }
    }

    nonisolated func iceAgentDidFinishGathering(_ agent: ICEAgent) {
        assumeIsolated { $0.gathered = true }
    }

    nonisolated func iceAgent(_ agent: ICEAgent, didSelectPair pair: ICEAgent.CandidatePair) {
        assumeIsolated { $0.pair = pair }
    }

    nonisolated func iceAgent(_ agent: ICEAgent, didReceive datagram: UnsafeMutableRawBufferPointer) {
        // Region checking cannot see that assumeIsolated runs the closure synchronously, here.
        nonisolated(unsafe) let datagram = datagram
        assumeIsolated { peer in
            peer.checkThread()
            peer.demux(datagram)
        }
    }

    private func demux(_ datagram: UnsafeMutableRawBufferPointer) {
        switch PacketKind.classify(UnsafeRawBufferPointer(datagram)) {
        case .dtls:
            dtls?.handleDatagram(UnsafeRawBufferPointer(datagram))
        case .rtp:
            guard let srtpIn else { return }
            do {
                let n = try srtpIn.unprotectRTP(datagram, length: datagram.count)
                rtp.append(Array(datagram[0..<n]))
            } catch { srtpErrors.append(error) }
        case .rtcp:
            guard let srtpIn else { return }
            do {
                let n = try srtpIn.unprotectRTCP(datagram, length: datagram.count)
                rtcp.append(Array(datagram[0..<n]))
            } catch { srtpErrors.append(error) }
        case .stun, .unknown:
            other.append(Array(datagram))
        }
    }

    nonisolated func dtlsTransport(_ transport: DTLSTransport, send datagram: UnsafeRawBufferPointer) {
        nonisolated(unsafe) let datagram = datagram
        assumeIsolated { peer in
            peer.dtlsDatagramsOut += 1
            if peer.dropNextDTLS > 0 { peer.dropNextDTLS -= 1; return }
            peer.agent?.send(datagram)
        }
    }

    nonisolated func dtlsTransport(_ transport: DTLSTransport, didChangeState state: DTLSTransport.State) {
        assumeIsolated { peer in
            peer.dtlsState = state
            if state == .connected, let keys = peer.dtls?.srtpKeys {
                peer.srtpIn = try? SRTPSession(keys.remote, direction: .inbound)
                peer.srtpOut = try? SRTPSession(keys.local, direction: .outbound)
            }
        }
    }

    nonisolated func dtlsTransport(_ transport: DTLSTransport, didReceive applicationData: UnsafeRawBufferPointer) {
        nonisolated(unsafe) let applicationData = applicationData
        assumeIsolated { $0.appData.append(Array(applicationData)) }
    }

    func setDropNextDTLS(_ n: Int) { dropNextDTLS = n }
    var srtpKeys: DTLSSRTPKeys? { dtls?.srtpKeys }
}

@Suite(.serialized) struct ICEAgentTests {
    /// Two agents on two workers, 127.0.0.1 only, credentials and candidates exchanged up front.
    static func connectedPair(portRange: ClosedRange<UInt16>? = nil) async throws
        -> (MediaWorker, MediaWorker, ICEPeer, ICEPeer) {
        let w1 = MediaWorker(name: "ice-a"), w2 = MediaWorker(name: "ice-b")
        let a = ICEPeer(worker: w1), b = ICEPeer(worker: w2)
        let ca = try await a.start(controlling: true, portRange: portRange)
        let cb = try await b.start(controlling: false, portRange: portRange)
        try await waitUntil("gathering", seconds: 5) {
            let ga = await a.gathered, gb = await b.gathered
            return ga && gb
        }
        let candA = await a.localCandidates(), candB = await b.localCandidates()
        #expect(!candA.isEmpty && !candB.isEmpty)
        #expect(candA.allSatisfy { $0.hasPrefix("candidate:") && $0.contains("127.0.0.1") && $0.contains("typ host") })
        #expect(try await a.setRemote(ufrag: cb.ufrag, pwd: cb.pwd, candidates: candB) >= 1)
        #expect(try await b.setRemote(ufrag: ca.ufrag, pwd: ca.pwd, candidates: candA) >= 1)
        try await waitUntil("ICE connected", seconds: 10) {
            let ca = await a.isConnected, cb = await b.isConnected
            return ca && cb
        }
        return (w1, w2, a, b)
    }

    static func shutdown(_ w1: MediaWorker, _ w2: MediaWorker, _ a: ICEPeer, _ b: ICEPeer) async {
        await a.close()
        await b.close()
        w1.stop()
        w2.stop()
    }

    @Test func agentsConnectOnLoopbackAndExchangeDatagrams() async throws {
        let (w1, w2, a, b) = try await Self.connectedPair(portRange: 40000...40100)
        if let t = await a.connectedAfter { print("ICE connected (controlling side) after \(t)") }
        let pair = try #require(await a.pair)
        #expect(pair.localAddress == "127.0.0.1" && pair.remoteAddress == "127.0.0.1")
        #expect((40000...40100).contains(pair.localPort))
        // A non-media datagram (first byte 0xFF: "unknown" in the demux) both ways.
        try await waitUntil("datagram a->b") {
            _ = await a.send([0xFF, 1, 2, 3])
            return await b.other.contains([0xFF, 1, 2, 3])
        }
        try await waitUntil("datagram b->a") {
            _ = await b.send([0xFF, 9])
            return await a.other.contains([0xFF, 9])
        }
        // A host-to-host UDP pair: both sides now send with sendto(2) on libnice's socket, and
        // what they send that way still arrives through libnice's receive path.
        #expect(await a.sendsDirectly)
        #expect(await b.sendsDirectly)
        #expect(await a.send([0xFF, 7, 7]))
        #expect(await b.send([0xFF, 8, 8]))
        try await waitUntil("direct datagrams both ways") {
            let x = await b.other.contains([0xFF, 7, 7]), y = await a.other.contains([0xFF, 8, 8])
            return x && y
        }
        #expect(await a.offLoopCallbacks == 0)
        #expect(await b.offLoopCallbacks == 0)
        await Self.shutdown(w1, w2, a, b)
    }

    /// ICE-TCP: the server side (controlled) offers passive TCP candidates on its port range; a
    /// client told only about those connects over TCP, and the datagrams (RFC 4571-framed by
    /// libnice) go through nice_agent_send, never the direct UDP path.
    @Test func tcpPassiveCandidateCarriesDatagramsThroughLibnice() async throws {
        let w1 = MediaWorker(name: "tcp-client"), w2 = MediaWorker(name: "tcp-server")
        let client = ICEPeer(worker: w1), server = ICEPeer(worker: w2)
        let cc = try await client.start(controlling: true, tcp: true, dialsOutOverTCP: true)
        let cs = try await server.start(controlling: false, portRange: 40200...40300, tcp: true)
        try await waitUntil("gathering", seconds: 5) {
            let x = await client.gathered, y = await server.gathered
            return x && y
        }
        let serverCandidates = await server.localCandidates()
        print("server candidates: \(serverCandidates)")
        let passive = serverCandidates.filter { $0.contains(" TCP ") && $0.contains("tcptype passive") }
        #expect(!passive.isEmpty)
        // Active TCP candidates (port 9, connect-only) are not offered by us.
        #expect(!serverCandidates.contains { $0.contains("tcptype active") })
        #expect(passive.allSatisfy { c in
            let port = UInt16(c.split(separator: " ")[5]) ?? 0
            return (40200...40300).contains(port)
        })
        // The client learns only the passive TCP candidates; the server none (the client's
        // connection becomes a peer-reflexive candidate there).
        #expect(try await client.setRemote(ufrag: cs.ufrag, pwd: cs.pwd, candidates: passive) >= 1)
        #expect(try await server.setRemote(ufrag: cc.ufrag, pwd: cc.pwd, candidates: []) == 0)
        // Sluice's side refuses a client's passive TCP candidate: it never dials out.
        let clientPassive = await client.localCandidates().filter { $0.contains("tcptype passive") }
        #expect(!clientPassive.isEmpty)
        for c in clientPassive { #expect(try await server.addRemoteCandidate(c) == false) }
        try await waitUntil("ICE connected over TCP", seconds: 10) {
            let x = await client.isConnected, y = await server.isConnected
            return x && y
        }
        let pair = try #require(await server.pair)
        print("server's selected pair: \(pair)")
        #expect(pair.transport == "tcp")
        #expect(await !server.sendsDirectly)
        #expect(await !client.sendsDirectly)
        for i in 0..<20 { _ = await server.send([0xFF, UInt8(i), 1, 2, 3]) }
        try await waitUntil("datagrams server->client over TCP") {
            let got = await client.other.filter { $0.count == 5 && $0[0] == 0xFF }
            return got.count == 20
        }
        // Boundaries are kept (each datagram arrives whole, in order).
        let got = await client.other.filter { $0.count == 5 && $0[0] == 0xFF }.map { Int($0[1]) }
        #expect(got == Array(0..<20))
        _ = await client.send([0xFF, 42])
        try await waitUntil("datagram client->server over TCP") { await server.other.contains([0xFF, 42]) }
        await Self.shutdown(w1, w2, client, server)
    }

    @Test func trickleCandidatesAfterCredentials() async throws {
        let w1 = MediaWorker(name: "trickle-a"), w2 = MediaWorker(name: "trickle-b")
        let a = ICEPeer(worker: w1), b = ICEPeer(worker: w2)
        let ca = try await a.start(controlling: true, trickle: true)
        let cb = try await b.start(controlling: false, trickle: true)
        // Credentials first, no candidates: nothing can connect yet.
        #expect(try await a.setRemote(ufrag: cb.ufrag, pwd: cb.pwd, candidates: []) == 0)
        #expect(try await b.setRemote(ufrag: ca.ufrag, pwd: ca.pwd, candidates: []) == 0)
        try await waitUntil("gathering") {
            let ga = await a.gathered, gb = await b.gathered
            return ga && gb
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(await !a.isConnected)
        // Candidates trickle in (with the "a=" prefix on one side), then end-of-candidates.
        for c in await b.localCandidates() { #expect(try await a.addRemoteCandidate("a=" + c)) }
        for c in await a.localCandidates() { #expect(try await b.addRemoteCandidate(c)) }
        await a.remoteGatheringDone()
        await b.remoteGatheringDone()
        try await waitUntil("ICE connected (trickle)", seconds: 10) {
            let x = await a.isConnected, y = await b.isConnected
            return x && y
        }
        await Self.shutdown(w1, w2, a, b)
    }

    @Test func malformedCandidateThrows() async throws {
        let w = MediaWorker(name: "bad-cand")
        let a = ICEPeer(worker: w)
        _ = try await a.start(controlling: true)
        await #expect(throws: ICEError.self) { try await a.addRemoteCandidate("candidate:garbage") }
        await #expect(throws: ICEError.self) { try await a.addRemoteCandidate("") }
        // Browser-style lines with extensions parse; mDNS hosts and TCP are skipped.
        #expect(try await a.addRemoteCandidate(
            "candidate:842163049 1 udp 1677729535 127.0.0.1 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sXc4 network-cost 999\r\n"))
        #expect(try await a.addRemoteCandidate("candidate:1 1 UDP 2122260223 127.0.0.1 50000 typ host"))
        #expect(try await !a.addRemoteCandidate(
            "candidate:2 1 udp 2122260223 4b1a7a2e-7c1f-4a0e-9b7e-1d2c3b4a5f60.local 50001 typ host generation 0"))
        #expect(try await !a.addRemoteCandidate("candidate:3 2 UDP 2122260222 127.0.0.1 50002 typ host"))
        await a.close()
        w.stop()
    }

    @Test func dtlsAndSRTPOverICE() async throws {
        let (w1, w2, a, b) = try await Self.connectedPair()
        let certA = try DTLSCertificate(), certB = try DTLSCertificate()
        // Lose the client's first flight: the worker-driven retransmission timer must recover.
        await a.setDropNextDTLS(1)
        let start = ContinuousClock.now
        try await b.startDTLS(role: .server, certificate: certB, remoteFingerprint: certA.fingerprint)
        try await a.startDTLS(role: .client, certificate: certA, remoteFingerprint: certB.fingerprint)
        try await waitUntil("DTLS connected", seconds: 8) {
            let sa = await a.dtlsState, sb = await b.dtlsState
            return sa == .connected && sb == .connected
        }
        print("DTLS over ICE connected after \(ContinuousClock.now - start) (first flight dropped)")
        #expect(await a.dtlsDatagramsOut >= 3)
        let keysA = try #require(await a.srtpKeys)
        let keysB = try #require(await b.srtpKeys)
        #expect(keysA.profile == .aeadAes128Gcm)
        #expect(keysA.local == keysB.remote && keysA.remote == keysB.local)

        // SRTP end to end, both directions, plus SRTCP.
        let payload = Array(repeating: UInt8(0x5A), count: 1000)
        #expect(try await a.sendRTP(sequence: 1, payload: payload))
        #expect(try await b.sendRTP(sequence: 77, payload: [1, 2, 3]))
        #expect(try await a.sendRTCP())
        try await waitUntil("SRTP delivered") {
            let rb = await b.rtp.count, ra = await a.rtp.count, cb = await b.rtcp.count
            return rb == 1 && ra == 1 && cb == 1
        }
        #expect(await b.rtp.first == makeRTP(sequence: 1, payload: payload))
        #expect(await a.rtp.first == makeRTP(sequence: 77, payload: [1, 2, 3]))
        #expect(await b.rtcp.first == makeRTCP())
        #expect(await a.srtpErrors.isEmpty)
        #expect(await b.srtpErrors.isEmpty)

        // DTLS application data (what SCTP will ride on).
        try await a.sendAppData(Array("sctp".utf8))
        try await waitUntil("app data") { await b.appData == [Array("sctp".utf8)] }
        #expect(await a.offLoopCallbacks == 0)
        #expect(await b.offLoopCallbacks == 0)
        await Self.shutdown(w1, w2, a, b)
    }
}
