/// What one subscriber's transport sent under each transport-wide sequence number (the
/// transport-cc header extension we write on every packet to a viewer that negotiated it), so
/// the viewer's TWCC feedback can be turned back into send times and sizes for its downlink
/// estimate. One per subscriber, shared by all its DownTracks (the sequence is transport-wide).
///
/// A fixed ring allocated once: recording a packet is a counter increment and one slot store,
/// no allocation and no lock (loop-confined like the rest of the room).
public final class TransportSequenceHistory {
    /// Slots in the ring: 1024 packets is ~3 s of a 2.5 Mbit/s video plus audio, many times the
    /// ~100 ms between two feedbacks (a later one only names newer packets). The ring is per
    /// viewer and fully written, so its size is memory per viewer (16 KiB at 1024).
    public static let capacity = 1024

    /// The extension id the subscriber's answer accepted; 0 while not negotiated (nothing is
    /// stamped or recorded then).
    public var extensionID: UInt8 = 0
    public var isEnabled: Bool { extensionID != 0 }
    /// Packets stamped so far.
    public private(set) var packetsRecorded = 0
    /// Padding packets sent as bandwidth probes.
    public private(set) var probePacketsSent = 0

    public struct Slot: Sendable, Equatable {
        public var sequenceNumber: UInt16 = 0
        /// Bytes on the wire before SRTP (header, extension block, payload).
        public var size: UInt16 = 0
        /// Nonzero for a packet of probe cluster `probeID`.
        public var probeID: UInt8 = 0
        public var valid = false
        /// The room's clock when it went out, nanoseconds.
        public var sentAt: UInt64 = 0
    }

    private let slots: UnsafeMutablePointer<Slot>
    private var next: UInt16 = 1
    /// Scratch space for padding packets (probes), allocated here once.
    let paddingBuffer: UnsafeMutableRawBufferPointer

    public init() {
        slots = .allocate(capacity: Self.capacity)
        slots.initialize(repeating: Slot(), count: Self.capacity)
        paddingBuffer = .allocate(byteCount: 512, alignment: 8)
        paddingBuffer.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        slots.deallocate()
        paddingBuffer.deallocate()
    }

    /// Takes the next sequence number for a packet of `size` bytes sent at `now`.
    @inline(__always)
    public func record(size: Int, now: UInt64, probeID: UInt8 = 0) -> UInt16 {
        let sequence = next
        next &+= 1
        slots[Int(sequence) & (Self.capacity - 1)] = Slot(
            sequenceNumber: sequence, size: UInt16(clamping: size), probeID: probeID, valid: true, sentAt: now)
        packetsRecorded &+= 1
        if probeID != 0 { probePacketsSent &+= 1 }
        return sequence
    }

    /// The packet sent under `sequenceNumber`, if the ring still has it.
    @inline(__always)
    public func lookup(_ sequenceNumber: UInt16) -> Slot? {
        let slot = slots[Int(sequenceNumber) & (Self.capacity - 1)]
        return slot.valid && slot.sequenceNumber == sequenceNumber ? slot : nil
    }
}
