import Testing
import WebRTC

/// A stand-in for a Room: an actor on a media worker that owns one PeerTransport.
actor PeerEndpoint: PeerTransportDelegate {
    let worker: MediaWorker
    nonisolated var unownedExecutor: UnownedSerialExecutor { worker.asUnownedSerialExecutor() }
    var transport: PeerTransport?
    var states: [PeerTransport.State] = []
    var rtp: [[UInt8]] = []
    var rtcp: [[UInt8]] = []
    var appData: [[UInt8]] = []

    init(worker: MediaWorker) { self.worker = worker }

    struct Offer: Sendable { var ufrag: String; var pwd: String; var fingerprint: String; var candidates: [String] }

    func start(controlling: Bool, role: DTLSTransport.Role, certificate: DTLSCertificate) throws {
        let t = try PeerTransport(worker: worker, configuration: PeerTransportConfiguration(
            ice: ICEConfiguration(controlling: controlling), dtlsRole: role), certificate: certificate)
        t.delegate = self
        transport = t
        try t.gatherCandidates()
    }

    var gathered: Bool { transport?.iceGatheringDone ?? false }

    func localDescription() -> Offer {
        let t = transport!
        let c = t.localCredentials
        return Offer(ufrag: c.ufrag, pwd: c.password, fingerprint: t.localFingerprint, candidates: t.localCandidates)
    }

    func apply(_ remote: Offer) throws {
        try transport!.setRemote(ufrag: remote.ufrag, password: remote.pwd, fingerprint: remote.fingerprint)
        for c in remote.candidates { try transport!.addRemoteCandidate(c) }
    }

    var state: PeerTransport.State { transport?.state ?? .new }
    var profile: SRTPProfile? { transport?.srtpProfile }
    var failures: Int { transport?.srtpUnprotectFailures ?? -1 }

    // (A typed-throws closure passed to withUnsafeBytes crashes Swift 6.3.1 IRGen: keep it untyped.)
    func sendRTP(_ packet: [UInt8]) throws -> Bool {
        let t = transport!
        return try packet.withUnsafeBytes { (raw) throws -> Bool in try t.sendRTP(raw) }
    }

    func sendRTCP(_ packet: [UInt8]) throws -> Bool {
        let t = transport!
        return try packet.withUnsafeBytes { (raw) throws -> Bool in try t.sendRTCP(raw) }
    }

    func sendData(_ bytes: [UInt8]) throws {
        let t = transport!
        try bytes.withUnsafeBytes { (raw) throws in try t.sendApplicationData(raw) }
    }

    func close() { transport?.close(); transport = nil }

    nonisolated func peerTransport(_ transport: PeerTransport, didChangeState state: PeerTransport.State) {
        assumeIsolated { $0.states.append(state) }
    }
    nonisolated func peerTransport(_ transport: PeerTransport, didReceiveRTP packet: UnsafeMutableRawBufferPointer) {
        nonisolated(unsafe) let packet = packet
        assumeIsolated { $0.rtp.append(Array(packet)) }
    }
    nonisolated func peerTransport(_ transport: PeerTransport, didReceiveRTCP packet: UnsafeMutableRawBufferPointer) {
        nonisolated(unsafe) let packet = packet
        assumeIsolated { $0.rtcp.append(Array(packet)) }
    }
    nonisolated func peerTransport(_ transport: PeerTransport, didReceiveApplicationData data: UnsafeRawBufferPointer) {
        nonisolated(unsafe) let data = data
        assumeIsolated { $0.appData.append(Array(data)) }
    }
}

@Suite(.serialized) struct PeerTransportTests {
    static func negotiate(_ a: PeerEndpoint, _ b: PeerEndpoint, tamperFingerprint: Bool = false) async throws {
        try await waitUntil("gathering") {
            let ga = await a.gathered, gb = await b.gathered
            return ga && gb
        }
        var offer = await a.localDescription()
        let answer = await b.localDescription()
        if tamperFingerprint { offer.fingerprint = answer.fingerprint }
        try await b.apply(offer)
        try await a.apply(answer)
    }

    @Test func fullPathICEThenDTLSThenSRTP() async throws {
        let w1 = MediaWorker(name: "pt-a"), w2 = MediaWorker(name: "pt-b")
        let a = PeerEndpoint(worker: w1), b = PeerEndpoint(worker: w2)
        // a: offerer (controlling, setup:actpass -> answerer picks active); b: answerer, DTLS client.
        try await a.start(controlling: true, role: .server, certificate: try DTLSCertificate())
        try await b.start(controlling: false, role: .client, certificate: try DTLSCertificate())
        let start = ContinuousClock.now
        try await Self.negotiate(a, b)
        try await waitUntil("connected", seconds: 8) {
            let sa = await a.state, sb = await b.state
            return sa == .connected && sb == .connected
        }
        print("PeerTransport ICE+DTLS connected after \(ContinuousClock.now - start)")
        #expect(await a.profile == .aeadAes128Gcm)
        #expect(await a.states.contains(.securing))

        let video = makeRTP(sequence: 100, payload: Array(repeating: 0xEE, count: 1100))
        let audio = makeRTP(sequence: 7, ssrc: 0xABCD, payload: Array(repeating: 0x11, count: 80))
        #expect(try await a.sendRTP(video))
        #expect(try await b.sendRTP(audio))
        #expect(try await b.sendRTCP(makeRTCP()))
        try await a.sendData([0x01, 0x02])
        try await waitUntil("media delivered") {
            let rb = await b.rtp.count, ra = await a.rtp.count, ca = await a.rtcp.count, db = await b.appData.count
            return rb == 1 && ra == 1 && ca == 1 && db == 1
        }
        #expect(await b.rtp == [video])
        #expect(await a.rtp == [audio])
        #expect(await a.rtcp == [makeRTCP()])
        #expect(await b.appData == [[0x01, 0x02]])
        #expect(await a.failures == 0)
        #expect(await b.failures == 0)
        await a.close(); await b.close()
        w1.stop(); w2.stop()
    }

    @Test func wrongFingerprintFails() async throws {
        let w1 = MediaWorker(name: "pt-fa"), w2 = MediaWorker(name: "pt-fb")
        let a = PeerEndpoint(worker: w1), b = PeerEndpoint(worker: w2)
        try await a.start(controlling: true, role: .server, certificate: try DTLSCertificate())
        try await b.start(controlling: false, role: .client, certificate: try DTLSCertificate())
        try await Self.negotiate(a, b, tamperFingerprint: true)
        try await waitUntil("failure", seconds: 8) {
            if case .failed = await b.state { return true } else { return false }
        }
        #expect(await a.state != .connected)
        #expect(await b.profile == nil)
        await a.close(); await b.close()
        w1.stop(); w2.stop()
    }
}
