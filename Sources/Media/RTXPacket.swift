/// RTP retransmission payload format (RFC 4588): an RTX packet is the original packet's payload
/// prefixed by its original sequence number (OSN), sent with the RTX payload type and SSRC.
///
/// Both directions are done without allocating: `wrap` writes into a caller scratch buffer (the
/// SFU answering a NACK from its cache), `unwrapInPlace` turns a received RTX packet back into the
/// original by sliding the header forward over the OSN.
public enum RTXPacket {
    /// The OSN carried by an RTX packet, or nil for a padding-only RTX packet (a bandwidth probe,
    /// which repairs nothing).
    public static func originalSequenceNumber(_ packet: RTPPacket) -> UInt16? {
        guard packet.payloadLength >= 2 else { return nil }
        return packet.bytes.u16(packet.payloadOffset)
    }

    /// Rewrites the RTX packet in `buffer` into the original packet and returns the range of
    /// `buffer` that now holds it (it starts 2 bytes later). Returns nil for padding-only packets
    /// or unparsable input, leaving the buffer untouched.
    public static func unwrapInPlace(
        _ buffer: UnsafeMutableRawBufferPointer, primaryPayloadType: UInt8, primarySSRC: UInt32
    ) -> Range<Int>? {
        guard let packet = try? RTPPacket(UnsafeRawBufferPointer(buffer)),
              let osn = originalSequenceNumber(packet) else { return nil }
        let headerLength = packet.payloadOffset
        // Slide the header right by 2 over the OSN (back to front, since the ranges overlap).
        if let base = buffer.baseAddress { memmoveBytes(to: base + 2, from: base, count: headerLength) }
        let restored = UnsafeMutableRawBufferPointer(rebasing: buffer[2...])
        restored[1] = (restored[1] & 0x80) | (primaryPayloadType & 0x7F)
        restored.put16(osn, at: 2)
        restored.put32(primarySSRC, at: 8)
        return 2..<buffer.count
    }

    /// Writes the RTX form of `packet` into `buffer` (header copied with PT/SSRC/sequence replaced,
    /// extensions kept, padding dropped) and returns its length, or nil if `buffer` is too small.
    public static func wrap(
        _ packet: RTPPacket, into buffer: UnsafeMutableRawBufferPointer,
        rtxPayloadType: UInt8, rtxSSRC: UInt32, rtxSequenceNumber: UInt16
    ) -> Int? {
        let headerLength = packet.payloadOffset
        let total = headerLength + 2 + packet.payloadLength
        guard buffer.count >= total else { return nil }
        UnsafeMutableRawBufferPointer(rebasing: buffer[0..<headerLength]).copyMemory(from: packet.bytes.slice(0, headerLength))
        buffer[0] &= ~0x20  // no padding in the RTX copy
        buffer[1] = (buffer[1] & 0x80) | (rtxPayloadType & 0x7F)
        buffer.put16(rtxSequenceNumber, at: 2)
        buffer.put32(rtxSSRC, at: 8)
        buffer.put16(packet.sequenceNumber, at: headerLength)
        let payload = packet.payload
        UnsafeMutableRawBufferPointer(rebasing: buffer[(headerLength + 2)..<total]).copyMemory(from: payload)
        return total
    }
}

/// Overlap-safe byte move without importing libc (`copyMemory` is not documented as safe for
/// overlapping ranges); back to front because the destination lies after the source. Only used
/// on RTP headers, so a byte loop costs nothing measurable.
@inline(__always)
func memmoveBytes(to destination: UnsafeMutableRawPointer, from source: UnsafeMutableRawPointer, count: Int) {
    var i = count - 1
    while i >= 0 {
        destination.storeBytes(of: source.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self)
        i -= 1
    }
}
