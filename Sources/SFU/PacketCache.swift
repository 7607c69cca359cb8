/// A ring of the most recent RTP packets of one track, indexed by sequence number, to answer
/// NACKs. Storage is one allocation made up front; inserting copies the packet into its slot.
/// Loop-confined (the room's executor).
public final class PacketCache {
    /// Slots; a power of two so `seq & mask` stays consistent across the 16-bit wrap.
    public let capacity: Int
    public let slotSize: Int
    private let storage: UnsafeMutableRawBufferPointer
    private let lengths: UnsafeMutablePointer<Int>
    private let sequenceNumbers: UnsafeMutablePointer<UInt16>
    private let mask: Int

    public init(capacity: Int = 512, slotSize: Int = 1500) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0 && capacity <= 32768,
                     "capacity must be a power of two up to 32768")
        self.capacity = capacity
        self.slotSize = slotSize
        mask = capacity - 1
        storage = .allocate(byteCount: capacity * slotSize, alignment: 16)
        lengths = .allocate(capacity: capacity)
        lengths.initialize(repeating: 0, count: capacity)
        sequenceNumbers = .allocate(capacity: capacity)
        sequenceNumbers.initialize(repeating: 0, count: capacity)
    }

    deinit {
        storage.deallocate()
        lengths.deallocate()
        sequenceNumbers.deallocate()
    }

    /// Copies `packet` into the slot of `sequenceNumber` and returns the copy (valid until the slot
    /// is reused). Oversized packets are not cached (nil).
    @inline(__always)
    @discardableResult
    public func insert(_ packet: UnsafeRawBufferPointer, sequenceNumber: UInt16) -> UnsafeMutableRawBufferPointer? {
        let slot = Int(sequenceNumber) & mask
        guard packet.count <= slotSize, let base = packet.baseAddress else {
            lengths[slot] = 0
            return nil
        }
        let start = storage.baseAddress! + slot * slotSize
        start.copyMemory(from: base, byteCount: packet.count)
        lengths[slot] = packet.count
        sequenceNumbers[slot] = sequenceNumber
        return UnsafeMutableRawBufferPointer(start: start, count: packet.count)
    }

    /// Runs `body` on the cached packet with `sequenceNumber` (writable, for rewrite-send-restore;
    /// restore what you change). nil when it is no longer (or never was) cached.
    @inline(__always)
    public func withPacket<R>(sequenceNumber: UInt16, _ body: (UnsafeMutableRawBufferPointer) -> R) -> R? {
        let slot = Int(sequenceNumber) & mask
        let length = lengths[slot]
        guard length > 0, sequenceNumbers[slot] == sequenceNumber else { return nil }
        return body(UnsafeMutableRawBufferPointer(start: storage.baseAddress! + slot * slotSize, count: length))
    }

    public func contains(_ sequenceNumber: UInt16) -> Bool {
        withPacket(sequenceNumber: sequenceNumber) { _ in true } ?? false
    }
}
