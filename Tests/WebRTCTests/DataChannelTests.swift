import Testing
import WebRTC

/// Two managers on one worker, packets passed directly (each delivered on a later loop turn, since
/// usrsctp must not be re-entered from its output callback).
final class DirectSCTPLink: @unchecked Sendable {
    let a: DataChannelEndpoint
    let b: DataChannelEndpoint
    /// Drop every packet (to test that nothing breaks while the wire is cut).
    var cut = false

    init(worker: MediaWorker) throws {
        a = try DataChannelEndpoint(worker: worker, role: .client)
        b = try DataChannelEndpoint(worker: worker, role: .server)
        a.manager.output = { [unowned self] packet in self.deliver(packet, to: self.b, worker: worker) }
        b.manager.output = { [unowned self] packet in self.deliver(packet, to: self.a, worker: worker) }
    }

    private func deliver(_ packet: UnsafeRawBufferPointer, to endpoint: DataChannelEndpoint, worker: MediaWorker) {
        guard !cut else { return }
        let copy = Array(packet)
        worker.execute { copy.withUnsafeBytes { endpoint.manager.handlePacket($0) } }
    }

    func start() throws {
        try a.manager.start()
        try b.manager.start()
    }

    func close() {
        a.manager.close()
        b.manager.close()
    }
}

/// Data channels over a `DTLSTransport` in memory (datagrams passed between two workers).
final class DTLSDataChannelEndpoint: DTLSTransportDelegate, @unchecked Sendable {
    let worker: MediaWorker
    let dtls: DTLSTransport
    let channels: DataChannelEndpoint
    weak var peer: DTLSDataChannelEndpoint?

    init(worker: MediaWorker, role: DTLSTransport.Role, certificate: DTLSCertificate, remoteFingerprint: String) throws {
        self.worker = worker
        dtls = try DTLSTransport(certificate: certificate, role: role, remoteFingerprint: remoteFingerprint, worker: worker)
        channels = try DataChannelEndpoint(worker: worker, role: role)
        dtls.delegate = self
        channels.manager.output = { [unowned self] packet in try? self.dtls.send(packet) }
    }

    func dtlsTransport(_ transport: DTLSTransport, send datagram: UnsafeRawBufferPointer) {
        guard let peer else { return }
        let copy = Array(datagram)
        peer.worker.execute { copy.withUnsafeBytes { peer.dtls.handleDatagram($0) } }
    }
    func dtlsTransport(_ transport: DTLSTransport, didChangeState state: DTLSTransport.State) {
        if state == .connected { try? channels.manager.start() }
    }
    func dtlsTransport(_ transport: DTLSTransport, didReceive applicationData: UnsafeRawBufferPointer) {
        channels.manager.handlePacket(applicationData)
    }
}

/// Data channels over a full `PeerTransport` (ICE on loopback + DTLS).
final class PeerDataChannelEndpoint: PeerTransportDelegate, @unchecked Sendable {
    struct Description: Sendable { var ufrag: String; var pwd: String; var fingerprint: String; var candidates: [String] }

    let worker: MediaWorker
    let transport: PeerTransport
    let channels: DataChannelEndpoint

    init(worker: MediaWorker, controlling: Bool, role: DTLSTransport.Role) throws {
        self.worker = worker
        transport = try PeerTransport(worker: worker, configuration: PeerTransportConfiguration(
            ice: ICEConfiguration(controlling: controlling, localAddresses: ["127.0.0.1"]), dtlsRole: role),
            certificate: try DTLSCertificate())
        channels = try DataChannelEndpoint(worker: worker, role: role)
        transport.delegate = self
        channels.manager.output = { [unowned self] packet in try? self.transport.sendApplicationData(packet) }
        try transport.gatherCandidates()
    }

    var description: Description {
        let c = transport.localCredentials
        return Description(ufrag: c.ufrag, pwd: c.password, fingerprint: transport.localFingerprint,
                           candidates: transport.localCandidates)
    }

    func apply(_ remote: Description) throws {
        try transport.setRemote(ufrag: remote.ufrag, password: remote.pwd, fingerprint: remote.fingerprint)
        for c in remote.candidates { try transport.addRemoteCandidate(c) }
    }

    func peerTransport(_ transport: PeerTransport, didChangeState state: PeerTransport.State) {
        if state == .connected { try? channels.manager.start() }
    }
    func peerTransport(_ transport: PeerTransport, didReceiveRTP packet: UnsafeMutableRawBufferPointer) {}
    func peerTransport(_ transport: PeerTransport, didReceiveApplicationData data: UnsafeRawBufferPointer) {
        channels.manager.handlePacket(data)
    }

    func close() {
        channels.manager.close()
        transport.close()
    }
}

@Suite(.serialized) struct DataChannelTests {
    @Test func liveKitChannelsBackToBack() async throws {
        let worker = MediaWorker(name: "dc-direct")
        let link = try await worker.run { try DirectSCTPLink(worker: worker) }
        try await worker.run { try link.start() }
        try await waitUntil("association up", seconds: 5) {
            try await worker.run { link.a.connected && link.b.connected }
        }
        try await exerciseLiveKitChannels(worker: worker, link.a, worker: worker, link.b)
        let counters = try await worker.run {
            (link.a.manager.malformedControlMessages, link.b.manager.malformedControlMessages,
             link.b.manager.association.droppedOversizeMessages)
        }
        #expect(counters == (0, 0, 0))
        try await worker.run { link.close() }
        try await waitUntil("closed") {
            try await worker.run { link.a.states.last == .closed && link.b.states.last != .connected }
        }
        worker.stop()
    }

    @Test func channelCreatedBeforeAssociationOpensWhenUp() async throws {
        let worker = MediaWorker(name: "dc-early")
        let link = try await worker.run { try DirectSCTPLink(worker: worker) }
        // Open before start: the OPEN is queued until COMM_UP.
        try await worker.run {
            try link.b.open("early", DataChannelOptions(protocol: "proto", priority: 512))
            try link.start()
        }
        try await waitUntil("in-band open") { try await worker.run { link.a.isOpen("early") && link.b.isOpen("early") } }
        let remote = try await worker.run { link.a.remote }
        #expect(remote == [.init(id: 1, label: "early", ordered: true, maxRetransmits: nil, protocol: "proto")])
        try await worker.run { try link.a.send("early", .text("hi")) }
        try await waitUntil("reply") { try await worker.run { link.b.messages("early") == [.text("hi")] } }
        try await worker.run { link.close() }
        worker.stop()
    }

    /// A peer that speaks nonsense over a valid association: bad DCEP, wrong-parity OPENs, data on
    /// streams nobody opened, unknown PPIDs. Counted and ignored; the real channel keeps working.
    @Test func hostilePeerMessagesAreIgnored() async throws {
        let worker = MediaWorker(name: "dc-hostile")
        let link = try await worker.run { try DirectSCTPLink(worker: worker) }
        try await worker.run { try link.start() }
        try await waitUntil("association up") { try await worker.run { link.a.connected && link.b.connected } }
        try await worker.run { try link.a.open("_reliable") }
        try await waitUntil("open") { try await worker.run { link.b.isOpen("_reliable") } }
        try await worker.run {
            let raw = link.a.manager.association
            var rng = SystemRandomNumberGenerator()
            for i in 0..<200 {
                let n = Int.random(in: 1..<60, using: &rng)
                var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if i % 3 == 0 { bytes[0] = 0x03 }
                let ppid: UInt32 = [50, 50, 51, 52, 53, 54, 56, 57, 99][i % 9]
                try raw.send(bytes, streamID: UInt16(4 + i % 40), ppid: ppid)
            }
            // A well-formed OPEN, but with the opener's (b's) own parity: refused.
            try raw.send(DataChannelOpen(label: "evil", options: .init()).serialized(), streamID: 7,
                         ppid: DataChannelPPID.dcep)
            try link.a.send("_reliable", .text("after the noise"))
        }
        try await waitUntil("real message after noise") {
            try await worker.run { link.b.messages("_reliable") == [.text("after the noise")] }
        }
        let (remote, malformed, unknown) = try await worker.run {
            (link.b.remote.map(\.label), link.b.manager.malformedControlMessages, link.b.manager.messagesForUnknownStreams)
        }
        // Random bytes may form valid OPENs on even streams (the opener's parity): those open.
        #expect(!remote.contains("evil"))
        #expect(malformed > 0 && unknown > 0)
        try await worker.run { link.close() }
        worker.stop()
    }

    @Test func overDTLSInMemory() async throws {
        let w1 = MediaWorker(name: "dc-dtls-a"), w2 = MediaWorker(name: "dc-dtls-b")
        let ca = try DTLSCertificate(), cb = try DTLSCertificate()
        let a = try await w1.run {
            try DTLSDataChannelEndpoint(worker: w1, role: .client, certificate: ca, remoteFingerprint: cb.fingerprint)
        }
        let b = try await w2.run {
            try DTLSDataChannelEndpoint(worker: w2, role: .server, certificate: cb, remoteFingerprint: ca.fingerprint)
        }
        try await w1.run { a.peer = b }
        try await w2.run { b.peer = a; b.dtls.start() }
        try await w1.run { a.dtls.start() }
        try await waitUntil("SCTP over DTLS up", seconds: 8) {
            let ua = try await w1.run { a.channels.connected }
            let ub = try await w2.run { b.channels.connected }
            return ua && ub
        }
        try await exerciseLiveKitChannels(worker: w1, a.channels, worker: w2, b.channels)
        try await w1.run { a.channels.manager.close() }
        try await w2.run { b.channels.manager.close() }
        w1.stop(); w2.stop()
    }

    @Test func overPeerTransportLoopback() async throws {
        let w1 = MediaWorker(name: "dc-pt-a"), w2 = MediaWorker(name: "dc-pt-b")
        // a: answerer side taking DTLS client (even ids); b: offerer, DTLS server.
        let a = try await w1.run { try PeerDataChannelEndpoint(worker: w1, controlling: false, role: .client) }
        let b = try await w2.run { try PeerDataChannelEndpoint(worker: w2, controlling: true, role: .server) }
        try await waitUntil("gathering") {
            let ga = try await w1.run { a.transport.iceGatheringDone }
            let gb = try await w2.run { b.transport.iceGatheringDone }
            return ga && gb
        }
        let da = try await w1.run { a.description }
        let db = try await w2.run { b.description }
        try await w2.run { try b.apply(da) }
        try await w1.run { try a.apply(db) }
        try await waitUntil("SCTP over ICE+DTLS up", seconds: 10) {
            let ua = try await w1.run { a.channels.connected }
            let ub = try await w2.run { b.channels.connected }
            return ua && ub
        }
        try await exerciseLiveKitChannels(worker: w1, a.channels, worker: w2, b.channels)
        try await w1.run { a.close() }
        try await w2.run { b.close() }
        w1.stop(); w2.stop()
    }
}
