/// Why bytes are not valid RTCP. An enum so typed throws stay allocation-free.
public enum RTCPParseError: Error, Sendable, Equatable {
    /// Fewer bytes than the common header or the packet's own length field announces.
    case truncated
    /// Version field is not 2.
    case badVersion(UInt8)
    /// P bit set with a padding count of 0 or larger than the packet body.
    case badPadding
    /// The body is too short for the packet type/format (e.g. a PLI without media SSRC).
    case badLength(packetType: UInt8, format: UInt8)
    /// A field holds a value the format forbids (REMB without "REMB", TWCC reserved symbol, ...).
    case malformed(packetType: UInt8, format: UInt8)
}
