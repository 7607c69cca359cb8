/// The plaintext of a media datagram: which subscription and layer an RTP packet belongs to, then
/// the packet as the origin received it (its SSRC and sequence numbers are the publisher's; the
/// edge's mirror track rewrites nothing, exactly like a same-process relayed track).
///
///     0..1   subscription id, big-endian (given by the edge in `subscribe`)
///     2      layer (0 = lowest simulcast layer; audio is 0)
///     3..    RTP packet
public enum EdgeLinkMedia {
    public static let prefixSize = 3

    /// Writes the prefix and the packet into `out` (at least `prefixSize + packet.count` bytes)
    /// and returns the bytes used. No allocation: the origin frames into its own scratch buffer.
    public static func frame(subscription: UInt16, layer: UInt8, packet: UnsafeRawBufferPointer,
                             into out: UnsafeMutableRawBufferPointer) -> Int {
        out[0] = UInt8(subscription >> 8)
        out[1] = UInt8(truncatingIfNeeded: subscription)
        out[2] = layer
        UnsafeMutableRawBufferPointer(rebasing: out[prefixSize..<prefixSize + packet.count]).copyMemory(from: packet)
        return prefixSize + packet.count
    }

    /// The subscription, layer and RTP packet of a media plaintext, or nil when it is too short
    /// to hold an RTP header.
    public static func parse(_ plain: UnsafeRawBufferPointer)
        -> (subscription: UInt16, layer: UInt8, packet: UnsafeRawBufferPointer)? {
        guard plain.count >= prefixSize + 12 else { return nil }
        let subscription = UInt16(plain[0]) << 8 | UInt16(plain[1])
        return (subscription, plain[2], UnsafeRawBufferPointer(rebasing: plain[prefixSize...]))
    }
}
