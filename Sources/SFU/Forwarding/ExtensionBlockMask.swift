/// Hides an RTP packet's header extension block from its receiver, in place and undoably (for
/// rewrite-send-restore): the block becomes a one-byte-header block (RFC 8285) whose first
/// element has the reserved id 15, which tells a receiver to stop reading extensions there.
/// The length of the packet does not change, so neither does anything after the header.
struct ExtensionBlockMask {
    private var offset = -1
    private var saved: (UInt8, UInt8, UInt8) = (0, 0, 0)

    /// Masks the block of `bytes` if it has one with at least one word of elements.
    @inline(__always)
    mutating func hide(in bytes: UnsafeMutableRawBufferPointer) {
        guard bytes.count >= 12, bytes[0] & 0x10 != 0 else { return }
        let start = 12 + 4 * Int(bytes[0] & 0x0F)
        guard start + 8 <= bytes.count, bytes[start + 2] != 0 || bytes[start + 3] != 0 else { return }
        offset = start
        saved = (bytes[start], bytes[start + 1], bytes[start + 4])
        bytes[start] = 0xBE
        bytes[start + 1] = 0xDE
        bytes[start + 4] = 0xF0
    }

    /// Puts back what `hide` changed.
    @inline(__always)
    func restore(in bytes: UnsafeMutableRawBufferPointer) {
        guard offset >= 0 else { return }
        bytes[offset] = saved.0
        bytes[offset + 1] = saved.1
        bytes[offset + 4] = saved.2
    }
}
