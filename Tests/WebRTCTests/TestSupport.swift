import Foundation
import WebRTC

struct TimeoutError: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` every 5 ms until it holds or `seconds` pass. Bounded, no hanging continuations.
func waitUntil(_ what: String, seconds: Double = 5, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    if try await condition() { return }
    throw TimeoutError(what: what)
}

/// A minimal RTP packet (version 2, PT 96) in a buffer with room for the SRTP trailer.
func makeRTP(sequence: UInt16, timestamp: UInt32 = 1234, ssrc: UInt32 = 0x1122_3344, payload: [UInt8]) -> [UInt8] {
    var p: [UInt8] = [0x80, 96, UInt8(sequence >> 8), UInt8(sequence & 0xff)]
    p += withUnsafeBytes(of: timestamp.bigEndian, Array.init)
    p += withUnsafeBytes(of: ssrc.bigEndian, Array.init)
    return p + payload
}

/// A minimal RTCP receiver report with no blocks (PT 201).
func makeRTCP(ssrc: UInt32 = 0x5566_7788) -> [UInt8] {
    [0x80, 201, 0x00, 0x01] + withUnsafeBytes(of: ssrc.bigEndian, Array.init)
}
