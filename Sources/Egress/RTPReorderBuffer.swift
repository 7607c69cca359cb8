import Media
import SFU

/// Puts one RTP stream back in sequence-number order before depacketizing, and decides when a
/// missing packet is lost for good.
///
/// The first packets are held for one latency budget, so a stream whose first packet was overtaken
/// still starts at its true beginning (for video: the keyframe's first packet).
///
/// Packets are copied into fixed slots allocated once (`capacity` x `maxPacketSize` bytes), keyed by
/// the unwrapped (64-bit) sequence number, so the steady state allocates nothing. A missing packet is
/// waited for until the oldest buffered packet has waited `maxLatencyNanoseconds`, or until the
/// buffer would overflow; then it is declared lost, and the next packet delivered carries the count
/// of packets skipped before it so the depacketizer can drop the broken frame and the recorder can
/// ask for a keyframe.
///
/// Not thread-safe: one buffer per track, used on the thread that receives the track's packets.
public final class RTPReorderBuffer {
    /// What `insert` did with a packet.
    public enum InsertResult: Sendable, Equatable {
        case accepted
        /// The same sequence number is already buffered.
        case duplicate
        /// Behind the head of the stream: already delivered (a late retransmission or a duplicate)
        /// or already given up as lost.
        case tooLate
        /// Larger than a slot.
        case tooLarge
        /// Not an RTP packet.
        case malformed
    }

    public let capacity: Int
    public let maxPacketSize: Int
    public let maxLatencyNanoseconds: UInt64

    /// Counters for metrics and tests.
    public private(set) var packetsLost = 0
    public private(set) var packetsDuplicated = 0
    public private(set) var packetsTooLate = 0

    private let storage: UnsafeMutableRawPointer
    // Per slot: bytes used (0 = empty), unwrapped sequence number, arrival time.
    private var lengths: [Int]
    private var sequences: [Int64]
    private var arrivals: [UInt64]
    private var unwrapper = WrapAroundUnwrapper()
    /// Unwrapped sequence number of the next packet to deliver; nil until the first packet.
    private var nextSequence: Int64?
    /// Highest unwrapped sequence number buffered.
    private var highestSequence: Int64 = 0
    private var buffered = 0
    /// Sequence numbers declared lost and not yet reported with a delivered packet.
    private var pendingLoss = 0
    /// Delivery has begun; until then the head can move back to an earlier packet.
    private var started = false
    private var firstArrival: UInt64 = 0

    /// - Parameters:
    ///   - capacity: slots; the widest reorder distance tolerated. Rounded up to a power of two.
    ///   - maxPacketSize: bytes per slot (an RTP packet after SRTP removal fits in the path MTU).
    ///   - maxLatencyNanoseconds: how long a gap is waited for before it is declared lost.
    public init(capacity: Int = 512, maxPacketSize: Int = 1500, maxLatencyNanoseconds: UInt64 = 200_000_000) {
        var slots = 1
        while slots < max(capacity, 2) { slots <<= 1 }
        self.capacity = slots
        self.maxPacketSize = maxPacketSize
        self.maxLatencyNanoseconds = maxLatencyNanoseconds
        storage = UnsafeMutableRawPointer.allocate(byteCount: slots * maxPacketSize, alignment: 16)
        lengths = Array(repeating: 0, count: slots)
        sequences = Array(repeating: 0, count: slots)
        arrivals = Array(repeating: 0, count: slots)
    }

    deinit {
        storage.deallocate()
    }

    /// Packets buffered and not yet delivered.
    public var count: Int { buffered }

    /// Copies `packet` into its slot. Call `drain` afterwards to receive whatever became deliverable.
    @discardableResult
    public func insert(_ packet: UnsafeRawBufferPointer, arrivalNanoseconds: UInt64) -> InsertResult {
        guard packet.count >= RTPPacket.fixedHeaderLength, packet[0] >> 6 == 2 else { return .malformed }
        guard packet.count <= maxPacketSize else { return .tooLarge }
        let wireSequence = UInt64(packet[2]) << 8 | UInt64(packet[3])
        let sequence = unwrapper.extend(wireSequence, bits: 16)
        if let next = nextSequence {
            if sequence < next {
                // Before the first delivery the head may still move back: the first packet to
                // arrive is not necessarily the first one sent.
                guard !started, highestSequence - sequence < Int64(capacity) else {
                    packetsTooLate += 1
                    return .tooLate
                }
                nextSequence = sequence
            } else if sequence - next >= Int64(capacity) {
                // Far ahead (a long outage or a sender restart): rather than hold a window wider
                // than the ring, give up on everything before the new window.
                skipAhead(to: sequence - Int64(capacity) + 1)
            }
        } else {
            nextSequence = sequence
            firstArrival = arrivalNanoseconds
        }
        unwrapper.unwrap(wireSequence, bits: 16)
        let slot = Int(truncatingIfNeeded: sequence) & (capacity - 1)
        if lengths[slot] != 0 {
            // The slot can only hold this very sequence number: `skipAhead` keeps the window narrower
            // than the ring.
            packetsDuplicated += 1
            return .duplicate
        }
        (storage + slot * maxPacketSize).copyMemory(from: packet.baseAddress!, byteCount: packet.count)
        lengths[slot] = packet.count
        sequences[slot] = sequence
        arrivals[slot] = arrivalNanoseconds
        buffered += 1
        if buffered == 1 || sequence > highestSequence { highestSequence = sequence }
        return .accepted
    }

    /// Delivers, in order, every packet that is ready at `now`: consecutive packets at once, and
    /// packets after a gap once the gap has outlived the latency budget. `lostBefore` is the number
    /// of packets known missing just before `packet` (0 when it follows its predecessor).
    public func drain(now: UInt64, _ deliver: (_ packet: UnsafeRawBufferPointer, _ lostBefore: Int) -> Void) {
        if !started {
            // Hold the very first packets one latency budget, so earlier ones overtaken on the
            // way can still take their place at the head.
            guard nextSequence != nil, now >= firstArrival, now - firstArrival >= maxLatencyNanoseconds else { return }
            started = true
        }
        while let next = nextSequence, buffered > 0 {
            let slot = Int(truncatingIfNeeded: next) & (capacity - 1)
            if lengths[slot] != 0, sequences[slot] == next {
                deliverSlot(slot, deliver)
                continue
            }
            // A gap at the head: give up on it once the first packet behind it has waited too long.
            guard let oldest = firstBuffered(after: next) else { return }
            let arrival = arrivals[oldest]
            guard now >= arrival, now - arrival >= maxLatencyNanoseconds else { return }
            let lost = Int(sequences[oldest] - next)
            packetsLost += lost
            pendingLoss += lost
            deliverSlot(oldest, deliver)
        }
    }

    /// Delivers everything buffered regardless of latency (end of recording).
    public func flush(_ deliver: (_ packet: UnsafeRawBufferPointer, _ lostBefore: Int) -> Void) {
        drain(now: UInt64.max, deliver)
    }

    /// Forgets all state (the stream restarted).
    public func reset() {
        for i in 0..<capacity { lengths[i] = 0 }
        buffered = 0
        pendingLoss = 0
        nextSequence = nil
        started = false
        unwrapper.reset()
    }

    // MARK: Private

    private func deliverSlot(_ slot: Int, _ deliver: (UnsafeRawBufferPointer, Int) -> Void) {
        let bytes = UnsafeRawBufferPointer(start: storage + slot * maxPacketSize, count: lengths[slot])
        lengths[slot] = 0
        buffered -= 1
        nextSequence = sequences[slot] + 1
        let lost = pendingLoss
        pendingLoss = 0
        deliver(bytes, lost)
    }

    /// The slot of the buffered packet with the lowest sequence number after `sequence`, found by
    /// walking the window (at most `capacity` steps, and only while a gap is pending).
    private func firstBuffered(after sequence: Int64) -> Int? {
        var candidate = sequence + 1
        while candidate <= highestSequence {
            let slot = Int(truncatingIfNeeded: candidate) & (capacity - 1)
            if lengths[slot] != 0, sequences[slot] == candidate { return slot }
            candidate += 1
        }
        return nil
    }

    /// Moves the head to `sequence` so a packet far ahead fits in the ring. Buffered packets before
    /// it are discarded, since delivering them would mean waiting on the gap; every sequence number
    /// skipped counts as lost and is reported with the next packet delivered.
    private func skipAhead(to sequence: Int64) {
        guard let next = nextSequence, sequence > next else { return }
        var s = next
        while s < sequence, buffered > 0, s <= highestSequence {
            let slot = Int(truncatingIfNeeded: s) & (capacity - 1)
            if lengths[slot] != 0, sequences[slot] == s {
                lengths[slot] = 0
                buffered -= 1
            }
            s += 1
        }
        let skipped = Int(sequence - next)
        packetsLost += skipped
        pendingLoss += skipped
        nextSequence = sequence
    }
}
