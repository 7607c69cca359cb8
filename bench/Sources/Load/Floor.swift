import CBenchUDP
import Foundation
import WebRTC
#if canImport(Glibc)
import Glibc
#endif

/// The floor: what this machine charges for one forwarded packet whatever the SFU does around it,
/// one SRTP protect (our `SRTPSession`, libsrtp2) plus one UDP send to 127.0.0.1 with sendmmsg in
/// batches of 32, measured as thread CPU time over `packets` 1200-byte VP8 packets.
struct FloorMeasurement {
    var profile: SRTPProfile
    var cpuSecondsPer1000: Double
    var packets: Int
}

private func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func measureFloor(profile: SRTPProfile, packets: Int = 200_000) throws -> FloorMeasurement {
    let batch = 32
    let receiver = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    let sender = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(receiver); close(sender) }
    var size: Int32 = 64 << 20
    setsockopt(receiver, SOL_SOCKET, SO_RCVBUFFORCE, &size, 4)
    setsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &size, 4)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(receiver, $0, &length) } }
    let flags = fcntl(receiver, F_GETFL)
    _ = fcntl(receiver, F_SETFL, flags | O_NONBLOCK)

    var key = [UInt8](repeating: 0, count: profile.keyLength)
    var salt = [UInt8](repeating: 0, count: profile.saltLength)
    for i in key.indices { key[i] = UInt8.random(in: 0...255) }
    for i in salt.indices { salt[i] = UInt8.random(in: 0...255) }
    let session = try SRTPSession(SRTPKeyingMaterial(profile: profile, key: key, salt: salt), direction: .outbound)

    // A plain 1200-byte VP8 packet; each send copies it into a slot (a real SFU protects a copy:
    // the received packet is shared by every subscriber) and protects it there.
    let plainLength = 1200
    var plain = [UInt8](repeating: 0xAB, count: plainLength)
    plain[0] = 0x80; plain[1] = 96
    plain[8] = 0x12; plain[9] = 0x34; plain[10] = 0x56; plain[11] = 0x78
    let slotSize = plainLength + SRTPSession.maxRTPTrailer
    let slots = UnsafeMutableRawBufferPointer.allocate(byteCount: slotSize * batch, alignment: 16)
    let iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: batch)
    let drain = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    defer { slots.deallocate(); iovecs.deallocate(); drain.deallocate() }

    var sequence: UInt16 = 1
    var timestamp: UInt32 = 0
    var cpu = 0.0
    var done = 0
    while done < packets {
        let n = min(batch, packets - done)
        let start = threadCPUSeconds()
        for i in 0..<n {
            let slot = UnsafeMutableRawBufferPointer(rebasing: slots[(i * slotSize)..<((i + 1) * slotSize)])
            plain.withUnsafeBytes { slot.copyMemory(from: $0) }
            slot[2] = UInt8(sequence >> 8); slot[3] = UInt8(sequence & 0xFF)
            slot[4] = UInt8(timestamp >> 24); slot[5] = UInt8((timestamp >> 16) & 0xFF)
            sequence &+= 1
            if sequence == 0 { timestamp &+= 3000 }
            let protected = try session.protectRTP(slot, length: plainLength)
            iovecs[i] = iovec(iov_base: slot.baseAddress, iov_len: protected)
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sluice_bench_sendmmsg(sender, iovecs, UInt32(n), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        cpu += threadCPUSeconds() - start
        done += n
        // Drain outside the measurement so the receive buffer never fills.
        while recv(receiver, drain.baseAddress, drain.count, 0) > 0 {}
    }
    return FloorMeasurement(profile: profile, cpuSecondsPer1000: cpu / Double(packets) * 1000, packets: packets)
}

/// The floor measured on one CPU (the server's, between rows, when nothing else runs there): a
/// thread of its own pinned to `cpu`, median of `repeats` passes. Each row's "x floor" divides by
/// the floor taken just before it, so a machine that is slower for a while (other guests on the
/// host) moves both figures and the ratio holds still.
func measureFloor(profile: SRTPProfile, packets: Int, repeats: Int, onCPU cpu: Int?) throws -> FloorMeasurement {
    nonisolated(unsafe) var result: Result<FloorMeasurement, any Error>?
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        if let cpu { _ = [Int32(cpu)].withUnsafeBufferPointer { sluice_bench_set_affinity(0, $0.baseAddress, 1) } }
        result = Result {
            let runs = try (0..<max(1, repeats)).map { _ in try measureFloor(profile: profile, packets: packets) }
                .sorted { $0.cpuSecondsPer1000 < $1.cpuSecondsPer1000 }
            return FloorMeasurement(profile: profile, cpuSecondsPer1000: runs[runs.count / 2].cpuSecondsPer1000,
                                    packets: packets * runs.count)
        }
        done.signal()
    }
    thread.start()
    done.wait()
    return try result!.get()
}
