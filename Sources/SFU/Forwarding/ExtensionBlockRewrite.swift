/// Rewrites a forwarded packet's header extension block in place and undoably (for
/// rewrite-send-restore), without moving the payload. The publisher's block (libwebrtc always
/// sends one: mid, transport-cc, audio level...) becomes a one-byte-header block (RFC 8285)
/// whose elements are either
/// - none (`hide`): the first element has the reserved id 15, which tells a receiver to stop
///   reading extensions there (the publisher's ids would mean something else to it); or
/// - our transport-wide sequence number (`stamp`: id, 2 bytes) followed by that same id 15.
/// A packet without a block of at least one word is left alone: making room would need bytes
/// in front of the payload. It then goes out unstamped and uncounted by the estimator.
struct ExtensionBlockRewrite {
    private var offset = -1
    private var saved: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0)

    /// Where the block of `bytes` starts when it has one with a word of elements to rewrite.
    @inline(__always)
    static func blockStart(_ bytes: UnsafeMutableRawBufferPointer) -> Int? {
        guard bytes.count >= 12, bytes[0] & 0x10 != 0 else { return nil }
        let start = 12 + 4 * Int(bytes[0] & 0x0F)
        guard start + 8 <= bytes.count, bytes[start + 2] != 0 || bytes[start + 3] != 0 else { return nil }
        return start
    }

    /// Hides every element; false (nothing changed) when the packet has no block to rewrite.
    @inline(__always)
    @discardableResult
    mutating func hide(in bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard let start = Self.blockStart(bytes) else { return false }
        save(bytes, at: start)
        bytes[start] = 0xBE
        bytes[start + 1] = 0xDE
        bytes[start + 4] = 0xF0
        return true
    }

    /// Leaves `sequence` under extension `id` as the only element; false (nothing changed)
    /// when the packet has no block to rewrite.
    @inline(__always)
    mutating func stamp(_ sequence: UInt16, id: UInt8, in bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard let start = Self.blockStart(bytes) else { return false }
        save(bytes, at: start)
        bytes[start] = 0xBE
        bytes[start + 1] = 0xDE
        bytes[start + 4] = id << 4 | 1
        bytes[start + 5] = UInt8(truncatingIfNeeded: sequence >> 8)
        bytes[start + 6] = UInt8(truncatingIfNeeded: sequence)
        bytes[start + 7] = 0xF0
        return true
    }

    /// Puts back what `hide` or `stamp` changed.
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

    @inline(__always)
    private mutating func save(_ bytes: UnsafeMutableRawBufferPointer, at start: Int) {
        offset = start
        saved = (bytes[start], bytes[start + 1], bytes[start + 4], bytes[start + 5], bytes[start + 6], bytes[start + 7])
    }
}
