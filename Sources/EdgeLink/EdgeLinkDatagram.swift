/// The clear header of a link datagram. It is authenticated (the AEAD's associated data) but not
/// secret: the receiver needs the counter to build the nonce and to reject replays before opening.
///
///     0      version (1)
///     1      kind (EdgeLinkDatagram.Kind)
///     2..9   counter, big-endian; the nonce is 4 zero bytes + these 8
///     10..   ciphertext, then the 16-byte Poly1305 tag
public enum EdgeLinkDatagram {
    public static let version: UInt8 = 1
    public static let headerSize = 10
    public static let tagSize = 16
    /// Header + tag: what sealing adds to a payload.
    public static let overhead = headerSize + tagSize
    /// The biggest datagram a link sends or accepts (an RTP packet of up to ~1400 bytes + framing).
    public static let maximumSize = 1600

    public enum Kind: UInt8, Sendable {
        /// One RTP packet of one layer of one subscribed track (origin -> edge).
        case media = 1
        /// One `EdgeLinkControl` message (either way).
        case control = 2
    }
}
