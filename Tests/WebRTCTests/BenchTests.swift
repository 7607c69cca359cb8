import Foundation
import Testing
import WebRTC

/// Figures, not assertions. Run with `SLUICE_BENCH=1 swift test -c release --filter BenchTests`.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["SLUICE_BENCH"] != nil))
struct BenchTests {
    static func report(_ name: String, _ elapsed: Duration, _ count: Int) {
        let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        print(String(format: "bench %@: %.0f ns/op (%d ops)", name, ns / Double(count), count))
    }

    @Test(arguments: SRTPProfile.allCases)
    func srtpProtectUnprotect1200(_ profile: SRTPProfile) throws {
        let keys = SRTPSessionTests.keys(profile, seed: 5)
        let out = try SRTPSession(keys, direction: .outbound)
        let inb = try SRTPSession(keys, direction: .inbound)
        let plain = makeRTP(sequence: 0, payload: Array(repeating: 1, count: 1188))
        var buffer = plain + Array(repeating: 0, count: SRTPSession.maxRTPTrailer)
        let n = 20_000
        let start = ContinuousClock.now
        try buffer.withUnsafeMutableBytes { raw in
            for i in 0..<n {
                raw.copyBytes(from: plain)
                raw[2] = UInt8(truncatingIfNeeded: i >> 8); raw[3] = UInt8(truncatingIfNeeded: i)
                let p = try out.protectRTP(raw, length: plain.count)
                _ = try inb.unprotectRTP(raw, length: p)
            }
        }
        Self.report("SRTP \(profile) protect+unprotect 1200B", ContinuousClock.now - start, n)
    }

    @Test func actorHopToWorker() async throws {
        let worker = MediaWorker(name: "bench-hop")
        defer { worker.stop() }
        let counter = LoopCounter(worker: worker)
        let n = 50_000
        let start = ContinuousClock.now
        for _ in 0..<n { _ = await counter.increment() }
        Self.report("await actor-on-worker round trip", ContinuousClock.now - start, n)
    }

    @Test func peerTransportLoopbackRTP() async throws {
        let w1 = MediaWorker(name: "bench-a"), w2 = MediaWorker(name: "bench-b")
        let a = PeerEndpoint(worker: w1), b = PeerEndpoint(worker: w2)
        try await a.start(controlling: true, role: .server, certificate: try DTLSCertificate())
        try await b.start(controlling: false, role: .client, certificate: try DTLSCertificate())
        try await PeerTransportTests.negotiate(a, b)
        try await waitUntil("connected", seconds: 8) {
            let sa = await a.state, sb = await b.state
            return sa == .connected && sb == .connected
        }
        let packet = makeRTP(sequence: 1, payload: Array(repeating: 3, count: 1100))
        let bursts = 200, perBurst = 50
        let start = ContinuousClock.now
        for burst in 0..<bursts {
            _ = try await a.sendBurst(packet, firstSequence: burst * perBurst, count: perBurst)
            try await Task.sleep(for: .microseconds(500))
        }
        try await waitUntil("delivered", seconds: 10) { await b.rtp.count >= bursts * perBurst * 95 / 100 }
        let got = await b.rtp.count
        Self.report("PeerTransport a->b RTP 1100B end to end (incl. pacing)", ContinuousClock.now - start, got)
        await a.close(); await b.close()
        w1.stop(); w2.stop()
    }
}

extension PeerEndpoint {
    /// Sends `count` copies with consecutive sequence numbers (rewritten in place, as a
    /// DownTrack would), starting at `firstSequence`.
    func sendBurst(_ packet: [UInt8], firstSequence: Int, count: Int) throws -> Int {
        guard let t = transport else { return 0 }
        var sent = 0
        var packet = packet
        try packet.withUnsafeMutableBytes { (raw) throws in
            for i in 0..<count {
                let seq = UInt16(truncatingIfNeeded: firstSequence + i)
                raw[2] = UInt8(seq >> 8); raw[3] = UInt8(seq & 0xff)
                if try t.sendRTP(UnsafeRawBufferPointer(raw)) { sent += 1 }
            }
        }
        return sent
    }
}
