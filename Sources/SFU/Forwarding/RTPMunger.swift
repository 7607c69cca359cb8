/// Maps the sequence numbers and timestamps of whichever incoming stream is being forwarded (one
/// simulcast layer at a time) to one continuous outgoing stream, as LiveKit's RTPMunger and
/// mediasoup's SeqManager do. A pure value: no I/O, no clock, no allocation after `init`.
///
/// - An *anchor* starts a stretch of forwarding from one incoming stream (first packet, simulcast
///   layer switch, resume after a pause), always at the first packet of a keyframe. Its outgoing
///   sequence number is the highest so far + 1; its outgoing timestamp is chosen by the caller
///   (`Forwarder` derives it from wall time or sender reports).
/// - After the anchor, outgoing = incoming - offset. Upstream loss keeps its gap (the subscriber
///   NACKs it and the NACK cache, keyed by outgoing number, answers).
/// - A packet dropped on purpose while in order (padding only) is *skipped*: the offset grows by
///   one so the outgoing sequence stays gap-free. The skipped incoming numbers are remembered so a
///   late packet from before the skip still gets the number it would have had.
/// - A late packet within `maxReorder` is mapped consistently; older ones, or ones from before
///   the anchor (they belong to a stretch that was not forwarded), are dropped.
/// - 16-bit sequence and 32-bit timestamp wrap are handled by extending both to 64 bits; all
///   bookkeeping is in extended values, truncated only on output.
public struct RTPMunger: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// How far (in packets) behind the highest incoming number a late packet may be and still
        /// be forwarded.
        public var maxReorder: Int
        /// How many skipped (intentionally dropped) packets are remembered for mapping late
        /// packets; a late packet older than the oldest remembered skip is dropped.
        public var skipHistory: Int

        public init(maxReorder: Int = 512, skipHistory: Int = 64) {
            self.maxReorder = maxReorder
            self.skipHistory = max(1, skipHistory)
        }
    }

    public enum DropReason: Sendable, Equatable {
        /// Not anchored: nothing is being forwarded (before the first keyframe or while paused).
        case notAnchored
        /// In-order packet dropped on purpose (padding only); the outgoing sequence skips it.
        case skipped
        /// Later than `maxReorder`, or older than the remembered skips.
        case tooOld
        /// From before the current anchor (a stretch of this stream that was not forwarded).
        case beforeAnchor
    }

    public enum Result: Sendable, Equatable {
        case forward(sequenceNumber: UInt16, timestamp: UInt32)
        case drop(DropReason)
    }

    public let configuration: Configuration

    private var sequenceIn = WrapAroundUnwrapper()
    private var timestampIn = WrapAroundUnwrapper()
    /// Extended incoming - extended outgoing, for packets after the newest skip.
    private var sequenceOffset: Int64 = 0
    private var timestampOffset: Int64 = 0
    private var anchorSequence: Int64 = 0
    /// Late packets at or below this extended incoming number cannot be mapped (skips forgotten).
    private var oldestMappable: Int64 = 0
    /// Ring of skipped extended incoming numbers since the anchor, ascending.
    private var skipped: [Int64]
    private var skippedStart = 0
    private var skippedCount = 0

    private let initialSequenceNumber: UInt16?
    private let initialTimestamp: UInt32?

    /// True between an anchor and `unanchor()`.
    public private(set) var isAnchored = false
    /// Highest outgoing sequence number sent, extended (never wraps). nil before the first anchor.
    public private(set) var highestOutgoingSequence: Int64?
    /// Highest outgoing timestamp sent, extended. nil before the first anchor.
    public private(set) var highestOutgoingTimestamp: Int64?
    /// Outgoing timestamp and arrival time of the first packet of the newest forwarded frame: the
    /// reference for choosing the next anchor's timestamp from elapsed wall time.
    public private(set) var lastFrameOutgoingTimestamp: Int64?
    public private(set) var lastFrameArrival: Int64 = 0

    /// `initialSequenceNumber`/`initialTimestamp`: where the outgoing stream starts; nil keeps the
    /// first anchored stream's own numbers.
    public init(
        configuration: Configuration = .init(), initialSequenceNumber: UInt16? = nil,
        initialTimestamp: UInt32? = nil
    ) {
        self.configuration = configuration
        self.skipped = Array(repeating: 0, count: configuration.skipHistory)
        self.initialSequenceNumber = initialSequenceNumber
        self.initialTimestamp = initialTimestamp
    }

    // MARK: Anchoring

    /// Starts forwarding a (possibly new) incoming stream at this packet, which must begin a
    /// keyframe. The packet is forwarded with sequence number highest + 1 and extended outgoing
    /// timestamp `outgoingTimestamp` (raised to highest + 1 if it is not ahead of what was sent;
    /// nil: highest + 1). `arrival` is the packet's arrival time in any monotonic unit the caller
    /// uses consistently (the `Forwarder` uses nanoseconds).
    public mutating func anchor(
        sequenceNumber: UInt16, timestamp: UInt32, outgoingTimestamp: Int64?, arrival: Int64
    ) -> Result {
        sequenceIn.reset()
        timestampIn.reset()
        let seq = sequenceIn.unwrap(UInt64(sequenceNumber), bits: 16)
        let ts = timestampIn.unwrap(UInt64(timestamp), bits: 32)

        let outSeq = highestOutgoingSequence.map { $0 + 1 } ?? initialSequenceNumber.map(Int64.init) ?? seq
        var outTs: Int64
        if let highest = highestOutgoingTimestamp {
            outTs = max(outgoingTimestamp ?? highest + 1, highest + 1)
        } else {
            outTs = outgoingTimestamp ?? initialTimestamp.map(Int64.init) ?? ts
        }
        outTs = max(outTs, 0)  // keep extended outgoing values non-negative (cosmetic)

        sequenceOffset = seq - outSeq
        timestampOffset = ts - outTs
        anchorSequence = seq
        oldestMappable = seq - 1
        skippedStart = 0
        skippedCount = 0
        isAnchored = true
        highestOutgoingSequence = outSeq
        highestOutgoingTimestamp = outTs
        lastFrameOutgoingTimestamp = outTs
        lastFrameArrival = arrival
        return .forward(sequenceNumber: UInt16(truncatingIfNeeded: outSeq), timestamp: UInt32(truncatingIfNeeded: outTs))
    }

    /// Stops forwarding (pause, layer gone). The next packet forwarded must come through `anchor`;
    /// outgoing numbering continues from where it stopped.
    public mutating func unanchor() { isAnchored = false }

    /// The extended outgoing timestamp `timestamp` of the currently (or last) anchored incoming
    /// stream would map to; nil before the first anchor. Used to resume the same stream after a
    /// pause without disturbing its timing, and to translate another layer's timestamp through
    /// sender reports.
    public func outgoingTimestamp(forAnchoredStream timestamp: UInt32) -> Int64? {
        guard highestOutgoingTimestamp != nil else { return nil }
        return timestampIn.extend(UInt64(timestamp), bits: 32) - timestampOffset
    }

    /// Takes `count` outgoing sequence numbers for padding packets of our own (bandwidth
    /// probes) sent after the highest one: the stream continues after them. Late packets from
    /// before the padding can no longer be mapped (the subscriber NACKs them instead, and the
    /// DownTrack's history answers with the numbers they were sent under). Returns the first
    /// number and the timestamp to give them (the newest frame's); nil before the first anchor.
    public mutating func reservePadding(count: Int) -> (sequenceNumber: UInt16, timestamp: UInt32)? {
        guard count > 0, let highest = highestOutgoingSequence, let timestamp = highestOutgoingTimestamp else { return nil }
        highestOutgoingSequence = highest + Int64(count)
        if isAnchored {
            sequenceOffset -= Int64(count)
            if let highestIn = sequenceIn.highest { oldestMappable = max(oldestMappable, highestIn) }
        }
        return (UInt16(truncatingIfNeeded: highest + 1), UInt32(truncatingIfNeeded: timestamp))
    }

    // MARK: Per packet

    /// Maps a packet of the anchored stream. `paddingOnly` packets are skipped when in order (and
    /// forwarded when late, to fill the slot the subscriber would otherwise NACK in vain).
    public mutating func map(
        sequenceNumber: UInt16, timestamp: UInt32, paddingOnly: Bool = false, arrival: Int64
    ) -> Result {
        guard isAnchored, let highestIn = sequenceIn.highest else { return .drop(.notAnchored) }
        let seq = sequenceIn.extend(UInt64(sequenceNumber), bits: 16)

        if seq > highestIn {
            sequenceIn.unwrap(UInt64(sequenceNumber), bits: 16)
            let ts = timestampIn.unwrap(UInt64(timestamp), bits: 32)
            if paddingOnly {
                rememberSkip(seq)
                sequenceOffset += 1
                return .drop(.skipped)
            }
            let outSeq = seq - sequenceOffset
            let outTs = ts - timestampOffset
            highestOutgoingSequence = outSeq
            if outTs > highestOutgoingTimestamp ?? .min {
                highestOutgoingTimestamp = outTs
                lastFrameOutgoingTimestamp = outTs
                lastFrameArrival = arrival
            }
            return .forward(sequenceNumber: UInt16(truncatingIfNeeded: outSeq), timestamp: UInt32(truncatingIfNeeded: outTs))
        }

        // Late (or duplicate of the highest).
        if seq < anchorSequence { return .drop(.beforeAnchor) }
        if highestIn - seq > Int64(configuration.maxReorder) || seq <= oldestMappable { return .drop(.tooOld) }
        var skippedAfter: Int64 = 0
        for i in 0..<skippedCount {
            let s = skipped[(skippedStart + i) % skipped.count]
            if s == seq { return .drop(.skipped) }  // a duplicate of a packet we skipped
            if s > seq { skippedAfter += 1 }
        }
        let outSeq = seq - (sequenceOffset - skippedAfter)
        let outTs = timestampIn.extend(UInt64(timestamp), bits: 32) - timestampOffset
        return .forward(sequenceNumber: UInt16(truncatingIfNeeded: outSeq), timestamp: UInt32(truncatingIfNeeded: outTs))
    }

    private mutating func rememberSkip(_ seq: Int64) {
        if skippedCount == skipped.count {
            // Forget the oldest; late packets at or below it can no longer be mapped.
            oldestMappable = max(oldestMappable, skipped[skippedStart])
            skippedStart = (skippedStart + 1) % skipped.count
            skippedCount -= 1
        }
        skipped[(skippedStart + skippedCount) % skipped.count] = seq
        skippedCount += 1
    }
}
