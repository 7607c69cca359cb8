#if canImport(Glibc)
import Glibc
#endif

/// Monotonic nanoseconds (same clock on every thread of this machine).
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// A synthetic VP8 stream at a set bitrate and frame rate with a keyframe every `keyframeInterval`
/// frames. Its frames are not decodable video, but every packet looks like VP8 to an SFU: a
/// payload descriptor (X, I, 15-bit picture id, S on a frame's first packet), a VP8 payload header
/// on the first packet (P bit clear and the start code on keyframes), the marker on the last.
///
/// Each packet carries, right after the descriptor and a 10-byte header slot, a probe: "SLLD",
/// the packet's index in the stream (UInt32) and its send time (monotonic ns, UInt64), so the
/// receivers count packets by index and measure delay. Packet sizes and counts are a pure function
/// of the frame number, so a measurement window is given as a range of indexes ahead of time.
struct SyntheticVP8 {
    static let probeMagic: [UInt8] = Array("SLLD".utf8)
    static let maxPayload = 1150
    static let descriptorLength = 4
    static let headerSlot = 10
    static let probeLength = 16

    let fps: Int
    let keyframeInterval: Int
    let deltaFrameBytes: Int
    let keyframeBytes: Int

    init(bitrate: Int, fps: Int, keyframeSeconds: Double) {
        self.fps = fps
        keyframeInterval = max(1, Int((Double(fps) * keyframeSeconds).rounded()))
        // A keyframe is 4 delta frames' worth; the average over a GOP is the bitrate.
        let gopBytes = Double(bitrate) / 8 * Double(keyframeInterval) / Double(fps)
        deltaFrameBytes = Int(gopBytes / Double(keyframeInterval + 3))
        keyframeBytes = deltaFrameBytes * 4
    }

    func isKeyframe(_ frame: Int) -> Bool { frame % keyframeInterval == 0 }
    func packets(inFrame frame: Int) -> Int {
        let bytes = isKeyframe(frame) ? keyframeBytes : deltaFrameBytes
        return (bytes + Self.maxPayload - 1) / Self.maxPayload
    }
    var packetsPerGOP: Int { packets(inFrame: 0) + (keyframeInterval - 1) * packets(inFrame: 1) }
    /// The stream index of the first packet of `frame`.
    func firstIndex(ofFrame frame: Int) -> Int {
        let gops = frame / keyframeInterval
        var index = gops * packetsPerGOP
        let within = frame % keyframeInterval
        if within > 0 { index += packets(inFrame: 0) + (within - 1) * packets(inFrame: 1) }
        return index
    }
    var packetsPerSecond: Double { Double(packetsPerGOP) * Double(fps) / Double(keyframeInterval) }

    /// Writes packet `part` of `frame` into `buffer`; returns its length. The RTP header carries
    /// the mid extension (id `midExtensionID`, value `mid`) when given: one-byte form.
    func writePacket(into buffer: UnsafeMutableRawBufferPointer, frame: Int, part: Int, index: Int, sequence: UInt16,
                     ssrc: UInt32, payloadType: UInt8, midExtensionID: UInt8?, mid: String) -> Int {
        let count = packets(inFrame: frame)
        let key = isKeyframe(frame)
        let frameBytes = key ? keyframeBytes : deltaFrameBytes
        let size = part < count - 1 ? Self.maxPayload : frameBytes - Self.maxPayload * (count - 1)
        let payloadSize = max(size, Self.descriptorLength + Self.headerSlot + Self.probeLength)
        var o = 0
        func put8(_ v: UInt8) { buffer[o] = v; o += 1 }
        func put16(_ v: UInt16) { put8(UInt8(v >> 8)); put8(UInt8(v & 0xFF)) }
        func put32(_ v: UInt32) { put16(UInt16(v >> 16)); put16(UInt16(v & 0xFFFF)) }
        let midBytes = Array(mid.utf8)
        let hasExtension = midExtensionID != nil && !midBytes.isEmpty
        put8(hasExtension ? 0x90 : 0x80)
        put8((part == count - 1 ? 0x80 : 0) | (payloadType & 0x7F))
        put16(sequence)
        put32(UInt32(truncatingIfNeeded: frame &* (90_000 / fps)))
        put32(ssrc)
        if hasExtension, let id = midExtensionID {
            let words = (1 + midBytes.count + 3) / 4
            put16(0xBEDE)
            put16(UInt16(words))
            put8(id << 4 | UInt8(midBytes.count - 1))
            for b in midBytes { put8(b) }
            while o % 4 != 0 { put8(0) }
        }
        // VP8 payload descriptor: X, S on the first packet, PID 0; I with a 15-bit picture id.
        put8(0x80 | (part == 0 ? 0x10 : 0))
        put8(0x80)
        put16(0x8000 | UInt16(frame & 0x7FFF))
        // VP8 payload header slot: the frame tag on the first packet (P clear on keyframes, with
        // the start code and 1280x720), zeros on the others.
        if part == 0 {
            let tag: UInt32 = (key ? 0 : 1) | 0x10 | (1000 << 5)  // show_frame, partition size
            put8(UInt8(tag & 0xFF)); put8(UInt8((tag >> 8) & 0xFF)); put8(UInt8((tag >> 16) & 0xFF))
            if key {
                put8(0x9D); put8(0x01); put8(0x2A)
                put8(0x00); put8(0x05); put8(0xD0); put8(0x02)  // 1280, 720 little-endian
            } else {
                for _ in 0..<7 { put8(0) }
            }
        } else {
            for _ in 0..<Self.headerSlot { put8(0) }
        }
        for b in Self.probeMagic { put8(b) }
        put32(UInt32(truncatingIfNeeded: index))
        let now = monotonicNanoseconds()
        put32(UInt32(now >> 32)); put32(UInt32(now & 0xFFFF_FFFF))
        let end = o + payloadSize - (Self.descriptorLength + Self.headerSlot + Self.probeLength)
        while o < end { put8(UInt8(truncatingIfNeeded: o)) }
        return o
    }

    /// Finds the probe in an RTP packet: (index, send time ns).
    @inline(__always)
    static func readProbe(_ packet: UnsafeRawBufferPointer) -> (index: UInt32, sentAt: UInt64)? {
        guard packet.count >= 12 else { return nil }
        var offset = 12 + 4 * Int(packet[0] & 0x0F)
        if packet[0] & 0x10 != 0 {
            guard packet.count >= offset + 4 else { return nil }
            offset += 4 + 4 * (Int(packet[offset + 2]) << 8 | Int(packet[offset + 3]))
        }
        let limit = min(packet.count - probeLength, offset + 40)
        guard offset <= limit else { return nil }
        var i = offset
        while i <= limit {
            if packet[i] == 0x53, packet[i + 1] == 0x4C, packet[i + 2] == 0x4C, packet[i + 3] == 0x44 {
                func u32(_ at: Int) -> UInt32 {
                    UInt32(packet[at]) << 24 | UInt32(packet[at + 1]) << 16 | UInt32(packet[at + 2]) << 8 | UInt32(packet[at + 3])
                }
                return (u32(i + 4), UInt64(u32(i + 8)) << 32 | UInt64(u32(i + 12)))
            }
            i += 1
        }
        return nil
    }
}
