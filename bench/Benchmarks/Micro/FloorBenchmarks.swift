import Benchmark
import CBenchUDP
import WebRTC
#if canImport(Glibc)
import Glibc
#endif

/// The floor: what this machine charges for any forwarded packet, whatever the SFU does around
/// it — one SRTP protect (each profile) plus one UDP send (sendto per datagram, or sendmmsg in
/// batches of 32) of a 1200-byte packet to 127.0.0.1. Measured here, by the same benchmark run,
/// so it is comparable with the fan-out figures. "Floor" rows do protect + send together: the
/// sum per forwarded packet. Each packet is copied into its own scratch slot before protect, as
/// a real transport must (the receive buffer is shared by every DownTrack and stays plain).
func floorBenchmarks() {
    let metrics: [BenchmarkMetric] = Benchmark.defaultConfiguration.metrics + [.syscalls, sendFailures]

    floor("UDP sendto 1216 B (1 datagram per call)", metrics: metrics, profile: nil, batch: 1)
    floor("UDP sendmmsg 1216 B (batches of \(batchSize))", metrics: metrics, profile: nil, batch: batchSize)
    for profile in [SRTPProfile.aeadAes128Gcm, .aes128CmHmacSha1_80] {
        let name = profile == .aeadAes128Gcm ? "GCM" : "SHA1-80"
        floor("Floor: SRTP protect (\(name)) + sendto", metrics: metrics, profile: profile, batch: 1)
        floor("Floor: SRTP protect (\(name)) + sendmmsg/\(batchSize)", metrics: metrics, profile: profile, batch: batchSize)
    }
}

private let batchSize = 32
private let sendFailures = BenchmarkMetric.custom("send failures", polarity: .prefersSmaller, useScalingFactor: false)

/// Registers one floor benchmark: `profile` nil sends an already protected-sized datagram
/// without protecting (the send alone).
private func floor(_ name: String, metrics: [BenchmarkMetric], profile: SRTPProfile?, batch: Int) {
    var fixture: FloorFixture?
    Benchmark(name, configuration: .init(metrics: metrics)) { benchmark in
        let f: FloorFixture
        if let existing = fixture { f = existing } else {
            f = try! FloorFixture(profile: profile, batch: batch)
            fixture = f
        }
        f.udp.drain()
        let failuresBefore = f.udp.failures
        let total = benchmark.scaledIterations.count
        benchmark.startMeasurement()
        var done = 0
        while done < total {
            let n = min(batch, total - done)
            f.send(n)
            done += n
        }
        benchmark.stopMeasurement()
        benchmark.measurement(sendFailures, f.udp.failures - failuresBefore)
    }
}

/// Sockets, an SRTP session, a packet stream and `batch` scratch slots with their iovecs.
private final class FloorFixture {
    let udp: LoopbackUDP
    let session: SRTPSession?
    var stream: VP8Stream
    let slotSize: Int
    let slots: UnsafeMutableRawBufferPointer
    let iovecs: UnsafeMutablePointer<iovec>
    let batch: Int

    init(profile: SRTPProfile?, batch: Int) throws {
        precondition(batch <= Int(SLUICE_BENCH_MAX_BATCH))
        udp = try LoopbackUDP()
        session = try profile.map { try SRTPSession(SRTPKeys.make($0, seed: 9), direction: .outbound) }
        stream = VP8Stream(ssrc: 0x4242_4242)
        slotSize = stream.length + SRTPSession.maxRTPTrailer
        slots = .allocate(byteCount: slotSize * batch, alignment: 16)
        slots.initializeMemory(as: UInt8.self, repeating: 0)
        iovecs = .allocate(capacity: batch)
        self.batch = batch
        for i in 0..<batch {
            iovecs[i] = iovec(iov_base: slots.baseAddress! + i * slotSize, iov_len: stream.length + 16)
        }
    }

    deinit {
        slots.deallocate()
        iovecs.deallocate()
        stream.deallocate()
    }

    /// Prepares `n` datagrams (copy + protect each) and sends them: one call each, or one
    /// sendmmsg for all when batching.
    @inline(__always)
    func send(_ n: Int) {
        for i in 0..<n {
            let slot = UnsafeMutableRawBufferPointer(start: slots.baseAddress! + i * slotSize, count: slotSize)
            if let session {
                slot.copyMemory(from: UnsafeRawBufferPointer(stream.next()))
                iovecs[i].iov_len = try! session.protectRTP(slot, length: stream.length)
            }
            if batch == 1 { udp.send(UnsafeRawBufferPointer(start: slot.baseAddress, count: iovecs[i].iov_len)) }
        }
        if batch > 1 { udp.sendBatch(iovecs, count: n) }
    }
}
