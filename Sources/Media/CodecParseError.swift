/// Why an RTP payload is not valid for its codec's payload format.
public enum CodecParseError: Error, Sendable, Equatable {
    /// The payload ends before the descriptor/NAL header/length field it announces.
    case truncated
    /// A field value the payload format forbids (forbidden NAL bit, zero-length STAP-A unit, ...).
    case malformed
    /// A packetization mode we do not handle (H.264 STAP-B, MTAP, FU-B: not used by WebRTC).
    case unsupported
}
