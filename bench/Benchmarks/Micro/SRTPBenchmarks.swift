import Benchmark
import WebRTC

/// SRTP through our wrapper (`SRTPSession`, Debian's libsrtp2) on 1200-byte RTP packets, both
/// profiles we negotiate.
func srtpBenchmarks() {
    for profile in SRTPProfile.allCases {
        let name = profile == .aeadAes128Gcm ? "AEAD-AES-128-GCM" : "AES-CM-128 + HMAC-SHA1-80"

        var protectStream = VP8Stream(ssrc: 0x0A0B_0C0D)
        let outbound = try! SRTPSession(SRTPKeys.make(profile, seed: 1), direction: .outbound)
        Benchmark("SRTP protect 1200 B (\(name))") { benchmark in
            for _ in benchmark.scaledIterations {
                _ = protectStream.next()
                blackHole(try! outbound.protectRTP(protectStream.buffer, length: protectStream.length))
            }
        }

        // Unprotect needs fresh packets (replay protection): protect a run of them first,
        // outside the measurement, each in its own slot.
        let sender = try! SRTPSession(SRTPKeys.make(profile, seed: 2), direction: .outbound)
        let receiver = try! SRTPSession(SRTPKeys.make(profile, seed: 2), direction: .inbound)
        var unprotectStream = VP8Stream(ssrc: 0x0E0F_1011)
        let slot = unprotectStream.length + SRTPSession.maxRTPTrailer
        var slots = UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 16)
        var lengths: [Int] = []
        Benchmark("SRTP unprotect 1200 B (\(name))") { benchmark in
            let count = benchmark.scaledIterations.count
            if slots.count < count * slot {
                slots.deallocate()
                slots = .allocate(byteCount: count * slot, alignment: 16)
                lengths = Array(repeating: 0, count: count)
            }
            for i in 0..<count {
                let packet = UnsafeMutableRawBufferPointer(rebasing: slots[(i * slot)..<((i + 1) * slot)])
                packet.copyMemory(from: UnsafeRawBufferPointer(unprotectStream.next()))
                lengths[i] = try! sender.protectRTP(packet, length: unprotectStream.length)
            }
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations {
                let packet = UnsafeMutableRawBufferPointer(rebasing: slots[(i * slot)..<((i + 1) * slot)])
                blackHole(try! receiver.unprotectRTP(packet, length: lengths[i]))
            }
            benchmark.stopMeasurement()
        }
    }
}
