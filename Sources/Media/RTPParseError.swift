/// Why a byte buffer is not a valid RTP packet. A plain enum so `throws(RTPParseError)` costs no
/// allocation on the media thread (an existential `any Error` would box).
public enum RTPParseError: Error, Sendable, Equatable {
    /// Fewer than the 12 fixed header bytes, or fewer than the CSRC list/extension announces.
    case truncated
    /// Version field is not 2 (could be STUN/DTLS that the demuxer let through).
    case badVersion(UInt8)
    /// The header extension length runs past the packet end.
    case badExtensionLength
    /// P bit set but the padding count is zero or larger than the payload.
    case badPadding
}
