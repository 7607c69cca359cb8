import Testing
import WebRTC

/// Wires two DTLS transports back to back through in-memory queues (no sockets, no threads).
final class DTLSPair: DTLSTransportDelegate {
    let client: DTLSTransport
    let server: DTLSTransport
    var toServer: [[UInt8]] = []
    var toClient: [[UInt8]] = []
    var clientReceived: [[UInt8]] = []
    var serverReceived: [[UInt8]] = []
    var datagramSizes: [Int] = []

    init(clientExpects: String? = nil, serverExpects: String? = nil) throws {
        let clientCert = try DTLSCertificate()
        let serverCert = try DTLSCertificate()
        client = try DTLSTransport(certificate: clientCert, role: .client,
                                   remoteFingerprint: clientExpects ?? serverCert.fingerprint)
        server = try DTLSTransport(certificate: serverCert, role: .server,
                                   remoteFingerprint: serverExpects ?? clientCert.fingerprint)
        client.delegate = self
        server.delegate = self
    }

    func dtlsTransport(_ transport: DTLSTransport, send datagram: UnsafeRawBufferPointer) {
        datagramSizes.append(datagram.count)
        if transport === client { toServer.append(Array(datagram)) } else { toClient.append(Array(datagram)) }
    }
    func dtlsTransport(_ transport: DTLSTransport, didChangeState state: DTLSTransport.State) {}
    func dtlsTransport(_ transport: DTLSTransport, didReceive applicationData: UnsafeRawBufferPointer) {
        if transport === client { clientReceived.append(Array(applicationData)) } else { serverReceived.append(Array(applicationData)) }
    }

    /// Delivers queued datagrams until both sides are quiet (bounded).
    func pump(maxRounds: Int = 50) {
        for _ in 0..<maxRounds {
            if toServer.isEmpty && toClient.isEmpty { return }
            let s = toServer; toServer = []
            for d in s { d.withUnsafeBytes { server.handleDatagram($0) } }
            let c = toClient; toClient = []
            for d in c { d.withUnsafeBytes { client.handleDatagram($0) } }
        }
    }
}

@Suite struct DTLSTransportTests {
    @Test func certificateFingerprintFormat() throws {
        let cert = try DTLSCertificate()
        let parts = cert.fingerprint.split(separator: ":")
        #expect(parts.count == 32)
        #expect(parts.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isHexDigit) && $0.uppercased() == $0 })
        #expect(try DTLSCertificate().fingerprint != cert.fingerprint)
    }

    @Test func handshakeDerivesMatchingKeysAndCarriesData() throws {
        let pair = try DTLSPair()
        pair.server.start()
        pair.client.start()
        #expect(!pair.toServer.isEmpty)  // ClientHello
        pair.pump()
        #expect(pair.client.state == .connected)
        #expect(pair.server.state == .connected)
        #expect(pair.datagramSizes.allSatisfy { $0 <= DTLSTransport.mtu })
        let ck = try #require(pair.client.srtpKeys)
        let sk = try #require(pair.server.srtpKeys)
        #expect(ck.profile == .aeadAes128Gcm)
        #expect(ck.local == sk.remote)
        #expect(ck.remote == sk.local)
        #expect(ck.local != ck.remote)
        #expect(ck.local.salt.count == 12)

        try pair.client.send([1, 2, 3, 4])
        try pair.server.send(Array("hello sctp".utf8))
        pair.pump()
        #expect(pair.serverReceived == [[1, 2, 3, 4]])
        #expect(pair.clientReceived == [Array("hello sctp".utf8)])

        // SRTP between them with the exported keys, both directions.
        let clientOut = try SRTPSession(ck.local, direction: .outbound)
        let serverIn = try SRTPSession(sk.remote, direction: .inbound)
        let serverOut = try SRTPSession(sk.local, direction: .outbound)
        let clientIn = try SRTPSession(ck.remote, direction: .inbound)
        for (out, inb) in [(clientOut, serverIn), (serverOut, clientIn)] {
            let plain = makeRTP(sequence: 42, payload: Array(repeating: 7, count: 200))
            var buf = plain + Array(repeating: 0, count: SRTPSession.maxRTPTrailer)
            try buf.withUnsafeMutableBytes { raw in
                let n = try out.protectRTP(raw, length: plain.count)
                let m = try inb.unprotectRTP(raw, length: n)
                #expect(Array(raw[0..<m]) == plain)
            }
        }
        pair.client.close()
        pair.pump()
        #expect(pair.server.state == .closed)
    }

    @Test func fingerprintMismatchFailsBothSides() throws {
        let pair = try DTLSPair(clientExpects: "00:11:22:33")
        pair.server.start()
        pair.client.start()
        pair.pump()
        guard case .failed(let error) = pair.client.state else {
            Issue.record("client should fail, is \(pair.client.state)"); return
        }
        guard case .fingerprintMismatch = error else { Issue.record("unexpected \(error)"); return }
        #expect(pair.client.srtpKeys == nil)
        // The client's alert makes the server fail too.
        if case .failed = pair.server.state {} else { Issue.record("server should fail, is \(pair.server.state)") }
    }

    @Test func serverRejectsWrongClientCertificate() throws {
        let pair = try DTLSPair(serverExpects: "AA:BB")
        pair.server.start()
        pair.client.start()
        pair.pump()
        if case .failed(.fingerprintMismatch) = pair.server.state {} else {
            Issue.record("server should fail with mismatch, is \(pair.server.state)")
        }
        #expect(pair.server.srtpKeys == nil)
        #expect(pair.client.state != .connected || pair.server.state != .connected)
    }

    @Test func retransmissionTimerIsArmedAfterClientHello() throws {
        let pair = try DTLSPair()
        pair.server.start()
        pair.client.start()
        pair.toServer.removeAll()  // ClientHello lost
        let timeout = try #require(pair.client.timeoutMilliseconds)
        #expect(timeout > 0 && timeout <= 1000)
        // Not expired yet: nothing happens.
        pair.client.handleTimeout()
        #expect(pair.toServer.isEmpty)
    }
}
