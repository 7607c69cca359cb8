import SFU
import WebRTC

/// A subscriber transport that does what a real one does before the socket: copy the rewritten
/// packet into a scratch buffer shared by the worker and SRTP-protect it there with the
/// subscriber's own session. The fan-out cost with SRTP, without the network.
final class ProtectingTransport: MediaTransport {
    private let session: SRTPSession
    private let scratch: UnsafeMutableRawBufferPointer
    private(set) var rtpPackets = 0
    private(set) var failures = 0

    init(profile: SRTPProfile, seed: UInt8, scratch: UnsafeMutableRawBufferPointer) throws {
        session = try SRTPSession(SRTPKeys.make(profile, seed: seed), direction: .outbound)
        self.scratch = scratch
    }

    func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard packet.count + SRTPSession.maxRTPTrailer <= scratch.count else { failures += 1; return false }
        scratch.copyMemory(from: packet)
        do {
            _ = try session.protectRTP(scratch, length: packet.count)
            rtpPackets &+= 1
            return true
        } catch {
            failures += 1
            return false
        }
    }

    func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool { true }
}

/// Deterministic test keys: which bytes they are does not change the cost.
enum SRTPKeys {
    static func make(_ profile: SRTPProfile, seed: UInt8) -> SRTPKeyingMaterial {
        SRTPKeyingMaterial(profile: profile,
                           key: (0..<profile.keyLength).map { UInt8(truncatingIfNeeded: Int($0) &* 7 &+ Int(seed)) },
                           salt: (0..<profile.saltLength).map { UInt8(truncatingIfNeeded: Int($0) &* 13 &+ Int(seed)) })
    }
}
