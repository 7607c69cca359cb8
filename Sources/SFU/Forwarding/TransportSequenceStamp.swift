/// Writes a transport-wide sequence number into a forwarded packet's header extension block,
/// in place and undoably (rewrite-send-restore), without moving the payload: the publisher's
/// block (libwebrtc always sends one: mid, transport-cc, audio level...) becomes a one-byte
/// header block (RFC 8285) whose first element is ours (id, 2 bytes) followed by the reserved
/// id 15, which ends parsing. The publisher's own elements are hidden that way too: their ids
/// would mean something else to the subscriber.
///
/// A packet without a block of at least one word cannot be stamped (that would need 8 more
/// bytes in front of the payload); it goes out unstamped and uncounted by the estimator.
struct TransportSequenceStamp {
    private var offset = -1
    private var saved: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0)

    /// True when `bytes` has a block the stamp fits in.
    @inline(__always)
    static func fits(_ bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard bytes.count >= 12, bytes[0] & 0x10 != 0 else { return false }
        let start = 12 + 4 * Int(bytes[0] & 0x0F)
        return start + 8 <= bytes.count && (bytes[start + 2] != 0 || bytes[start + 3] != 0)
    }

    /// Stamps `sequence` under extension `id`; call only when `fits(bytes)`.
    @inline(__always)
    mutating func write(_ sequence: UInt16, id: UInt8, in bytes: UnsafeMutableRawBufferPointer) {
        let start = 12 + 4 * Int(bytes[0] & 0x0F)
        offset = start
        saved = (bytes[start], bytes[start + 1], bytes[start + 4], bytes[start + 5], bytes[start + 6], bytes[start + 7])
        bytes[start] = 0xBE
        bytes[start + 1] = 0xDE
        bytes[start + 4] = id << 4 | 1
        bytes[start + 5] = UInt8(truncatingIfNeeded: sequence >> 8)
        bytes[start + 6] = UInt8(truncatingIfNeeded: sequence)
        bytes[start + 7] = 0xF0
    }

    /// Puts back what `write` changed.
    @inline(__always)
    func restore(in bytes: UnsafeMutableRawBufferPointer) {
        guard offset >= 0 else { return }
        bytes[offset] = saved.0
        bytes[offset + 1] = saved.1
        bytes[offset + 4] = saved.2
        bytes[offset + 5] = saved.3
        bytes[offset + 6] = saved.4
        bytes[offset + 7] = saved.5
    }
}
