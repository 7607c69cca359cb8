/// What a datagram on the BUNDLEd 5-tuple carries, by its first byte (RFC 7983) and, for
/// RTP/RTCP, the second byte (RFC 5761: RTCP packet types 192...223).
public enum PacketKind: Sendable, Equatable {
    case stun, dtls, rtp, rtcp, unknown

    @inline(__always)
    public static func classify(_ packet: UnsafeRawBufferPointer) -> PacketKind {
        guard let first = packet.first else { return .unknown }
        switch first {
        case 0...3: return .stun
        case 20...63: return .dtls
        case 128...191:
            guard packet.count >= 2 else { return .unknown }
            return (192...223).contains(packet[1]) ? .rtcp : .rtp
        default: return .unknown
        }
    }

    public static func classify(_ bytes: [UInt8]) -> PacketKind {
        bytes.withUnsafeBytes { classify($0) }
    }
}
