import Synchronization

/// A single-producer, single-consumer ring of media packets between two threads (a track's
/// worker and another worker that serves more of its subscribers): fixed slots allocated once,
/// a copy in and a view out, no lock and no allocation per packet.
///
/// The producer's `push` and the consumer's `drain` may run at the same time on their own
/// threads; each side must stay on one thread. A full ring drops the new packet and counts it
/// (a consumer that far behind is lost anyway; the receiver's NACK/PLI machinery recovers).
public final class PacketRing: @unchecked Sendable {
    /// What one slot carries.
    public enum Entry {
        case rtp(UnsafeMutableRawBufferPointer, layer: Int, arrival: UInt64)
        case senderReport(ntp: UInt64, rtpTimestamp: UInt32, layer: Int)
    }

    private struct SlotInfo {
        var length = 0
        var layer = 0
        var arrival: UInt64 = 0
        var isSenderReport = false
        var ntp: UInt64 = 0
        var rtpTimestamp: UInt32 = 0
    }

    /// Larger packets are dropped (and counted): what we forward fits a 1500-byte MTU.
    public static let slotSize = 1504

    public let capacity: Int
    private let mask: Int
    private let bytes: UnsafeMutableRawPointer
    private let infos: UnsafeMutablePointer<SlotInfo>
    /// Next slot the producer writes; only the producer stores it.
    private let head = Atomic<Int>(0)
    /// Next slot the consumer reads; only the consumer stores it.
    private let tail = Atomic<Int>(0)
    private let droppedFull = Atomic<Int>(0)
    private let droppedOversized = Atomic<Int>(0)

    /// `capacity` is rounded up to a power of two.
    public init(capacity: Int = 512) {
        var size = 1
        while size < max(2, capacity) { size <<= 1 }
        self.capacity = size
        mask = size - 1
        bytes = .allocate(byteCount: size * Self.slotSize, alignment: 64)
        infos = .allocate(capacity: size)
        infos.initialize(repeating: SlotInfo(), count: size)
    }

    deinit {
        bytes.deallocate()
        infos.deinitialize(count: capacity)
        infos.deallocate()
    }

    /// Packets dropped because the ring was full, and because they were larger than a slot.
    public var drops: (full: Int, oversized: Int) {
        (droppedFull.load(ordering: .relaxed), droppedOversized.load(ordering: .relaxed))
    }

    /// Entries waiting (a snapshot: either side may be moving).
    public var count: Int { head.load(ordering: .acquiring) - tail.load(ordering: .acquiring) }

    // MARK: Producer

    /// Copies an RTP packet in. False when it was dropped.
    @discardableResult
    public func push(_ packet: UnsafeRawBufferPointer, layer: Int, arrival: UInt64) -> Bool {
        guard packet.count <= Self.slotSize, let source = packet.baseAddress else {
            droppedOversized.add(1, ordering: .relaxed)
            return false
        }
        guard let slot = claimSlot() else { return false }
        (bytes + slot * Self.slotSize).copyMemory(from: source, byteCount: packet.count)
        infos[slot] = SlotInfo(length: packet.count, layer: layer, arrival: arrival)
        publish()
        return true
    }

    /// Passes a sender report along in order with the packets (the far side translates it for
    /// its subscribers' A/V sync).
    @discardableResult
    public func pushSenderReport(ntp: UInt64, rtpTimestamp: UInt32, layer: Int) -> Bool {
        guard let slot = claimSlot() else { return false }
        infos[slot] = SlotInfo(length: 0, layer: layer, isSenderReport: true, ntp: ntp, rtpTimestamp: rtpTimestamp)
        publish()
        return true
    }

    @inline(__always)
    private func claimSlot() -> Int? {
        let next = head.load(ordering: .relaxed)
        // Acquiring: the consumer is done reading the slots it released.
        guard next - tail.load(ordering: .acquiring) < capacity else {
            droppedFull.add(1, ordering: .relaxed)
            return nil
        }
        return next & mask
    }

    @inline(__always)
    private func publish() {
        // Releasing: the slot's bytes are visible before the consumer sees the new head.
        head.add(1, ordering: .releasing)
    }

    // MARK: Consumer

    /// Hands every waiting entry to `body` in order, then frees their slots. An RTP entry's
    /// bytes are the slot's: valid, and writable, only during the call. Returns how many.
    @discardableResult
    public func drain(_ body: (Entry) -> Void) -> Int {
        let first = tail.load(ordering: .relaxed)
        let end = head.load(ordering: .acquiring)
        guard end > first else { return 0 }
        for index in first..<end {
            let slot = index & mask
            let info = infos[slot]
            if info.isSenderReport {
                body(.senderReport(ntp: info.ntp, rtpTimestamp: info.rtpTimestamp, layer: info.layer))
            } else {
                let view = UnsafeMutableRawBufferPointer(start: bytes + slot * Self.slotSize, count: info.length)
                body(.rtp(view, layer: info.layer, arrival: info.arrival))
            }
        }
        tail.store(end, ordering: .releasing)
        return end - first
    }
}
