import CShims

/// How the server asks glibc's malloc to place large blocks.
///
/// Why: libnice gives every ICE component two 64 KiB buffers, and our own per-connection
/// buffers are 16 KiB and up; most of their pages are never written. Inside malloc's heaps, a
/// freed block's untouched pages are later handed out for small objects, which touch them: under
/// join/leave churn the server's RSS then crept up by ~1 MiB every 10 s while the bytes in use
/// stayed flat (mallinfo2: 139.7 MiB in use at 210 peers from second 20 to 240, RSS 178 -> 200
/// MiB; bench/results/soak.md). Blocks of `threshold` bytes and more are mapped on their own
/// instead: untouched pages stay off RSS and a freed block goes back to the OS at once. An
/// explicit threshold also turns off glibc's sliding one, which had risen to the size of the
/// packet caches (1.5 MiB) after the first one was freed and put every smaller block back in
/// the heaps. The cost is an mmap/munmap pair per such block, made when a connection opens or
/// closes, never per packet.
enum MallocTuning {
    static let mmapThreshold: Int32 = 16 * 1024

    /// Applies the threshold; false where the C library does not take it.
    @discardableResult
    static func apply() -> Bool {
        sluice_malloc_set_mmap_threshold(mmapThreshold) == 1
    }
}
