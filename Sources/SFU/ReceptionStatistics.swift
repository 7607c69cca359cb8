/// What we have received of one incoming RTP stream (one simulcast layer): the highest sequence
/// number, losses, and the last sender report, for receiver reports and NACKs to the publisher
/// (RFC 3550 §6.4.1, appendix A.3). A value updated on the hot path with no allocation.
public struct ReceptionStatistics: Sendable, Equatable {
    /// One report block's fields.
    public struct Block: Sendable, Equatable {
        public var ssrc: UInt32
        public var fractionLost: UInt8
        public var cumulativeLost: UInt32
        public var extendedHighestSequence: UInt32
        public var jitter: UInt32 = 0
        public var lastSenderReport: UInt32
        public var delaySinceLastSenderReport: UInt32
    }

    /// What a newly arrived packet revealed.
    public enum Arrival: Sendable, Equatable {
        case inOrder
        /// Packets before this one are missing: `first` and the `count` after it.
        case gap(first: UInt16, count: Int)
        /// Late (reordered or retransmitted) or duplicate.
        case late
    }

    public private(set) var started = false
    private var baseSequence: UInt32 = 0
    private var cycles: UInt32 = 0
    private var highest: UInt16 = 0
    public private(set) var received: UInt32 = 0
    private var expectedPrior: UInt32 = 0
    private var receivedPrior: UInt32 = 0
    private var lastSenderReport: UInt32 = 0
    private var lastSenderReportAt: UInt64?
    /// Loss fraction (0...1) of the last reporting interval.
    public private(set) var recentLoss: Double = 0
    /// Interarrival jitter (RFC 3550 §6.4.1, A.8) in RTP timestamp units, times 16 (the
    /// estimator's fixed point: J += (|D| - J) / 16 without losing the fraction).
    private var jitterQ4: UInt64 = 0
    /// The previous packet's relative transit time (arrival in RTP units minus its timestamp),
    /// and its timestamp: packets of one video frame share a timestamp and leave the publisher
    /// in a burst, so only the first of a frame is measured (as libwebrtc does).
    private var lastTransit: UInt32 = 0
    private var lastTimestamp: UInt32?

    /// Interarrival jitter in RTP timestamp units.
    public var jitter: UInt32 { UInt32(truncatingIfNeeded: jitterQ4 >> 4) }

    public init() {}

    public mutating func receive(sequenceNumber seq: UInt16) -> Arrival {
        received &+= 1
        guard started else {
            started = true
            baseSequence = UInt32(seq)
            highest = seq
            return .inOrder
        }
        let delta = seq &- highest
        if delta == 0 || delta >= 0x8000 { return .late }
        if seq < highest { cycles &+= 0x10000 }
        let previous = highest
        highest = seq
        return delta == 1 ? .inOrder : .gap(first: previous &+ 1, count: Int(delta) - 1)
    }

    /// Updates the jitter estimate with a packet that arrived at `now` (nanoseconds, monotonic)
    /// carrying `timestamp`, in a stream whose clock runs at `clockRate` Hz. A few integer
    /// operations, no allocation. Late packets (retransmissions) are left out by the caller.
    public mutating func receiveTimestamp(_ timestamp: UInt32, now: UInt64, clockRate: UInt32) {
        guard timestamp != lastTimestamp else { return }
        // Microseconds times the clock rate stays within 64 bits for years of uptime; the RTP
        // clock wraps at 32 bits like the timestamps, and differences are taken wrapping.
        let arrival = UInt32(truncatingIfNeeded: (now / 1_000) &* UInt64(clockRate) / 1_000_000)
        let transit = arrival &- timestamp
        if lastTimestamp != nil {
            let d = Int32(bitPattern: transit &- lastTransit).magnitude
            // J += (|D| - J) / 16, in Q4: Q += |D| - Q / 16.
            jitterQ4 = jitterQ4 &+ UInt64(d) &- (jitterQ4 >> 4)
        }
        lastTransit = transit
        lastTimestamp = timestamp
    }

    public mutating func receiveSenderReport(ntp: UInt64, now: UInt64) {
        lastSenderReport = UInt32(truncatingIfNeeded: ntp >> 16)
        lastSenderReportAt = now
    }

    public var extendedHighest: UInt32 { cycles | UInt32(highest) }

    /// The report block for now; closes the interval `recentLoss` describes.
    public mutating func reportBlock(ssrc: UInt32, now: UInt64) -> Block {
        let expected = extendedHighest &- baseSequence &+ 1
        let lost = Int64(expected) - Int64(received)
        let expectedInterval = expected &- expectedPrior
        let receivedInterval = received &- receivedPrior
        expectedPrior = expected
        receivedPrior = received
        let lostInterval = Int64(expectedInterval) - Int64(receivedInterval)
        let fraction = expectedInterval == 0 || lostInterval <= 0 ? 0 : UInt8(min(255, (lostInterval << 8) / Int64(expectedInterval)))
        recentLoss = Double(fraction) / 256
        var delay: UInt32 = 0
        if let at = lastSenderReportAt {
            delay = UInt32(truncatingIfNeeded: (now &- at) * 65536 / 1_000_000_000)
        }
        return Block(ssrc: ssrc, fractionLost: fraction, cumulativeLost: UInt32(truncatingIfNeeded: max(0, lost)),
                     extendedHighestSequence: extendedHighest, jitter: jitter, lastSenderReport: lastSenderReport,
                     delaySinceLastSenderReport: delay)
    }
}
