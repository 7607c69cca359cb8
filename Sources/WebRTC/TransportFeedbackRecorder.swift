import Media

/// Records when each packet with a transport-wide sequence number arrived and turns the records
/// into transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc) for the
/// sender's bandwidth estimator. One per transport (the numbers span all its m-lines).
///
/// Recording is a store into a fixed ring (no allocation, per packet); `feedback` runs from a
/// timer every ~100 ms and builds one RTCP packet for everything since the last one.
public struct TransportFeedbackRecorder {
    /// Ring size: a power of two, well above the packets of one feedback interval.
    static let capacity = 4096
    /// Microseconds; -1: not received. Empty until the first packet: most transports (a
    /// viewer's) never receive media with the extension, and 32 KB per transport adds up over
    /// hundreds of viewers.
    private var arrivals: [Int64] = []
    /// The highest sequence number so far, extended past 16 bits.
    private var lastExtended: Int64?
    /// Next unwrapped sequence number to report; nil before the first packet.
    private var nextToReport: Int64?
    private var highest: Int64 = -1
    private var feedbackCount: UInt8 = 0

    public init() {}

    /// One packet's transport-wide sequence number and arrival time.
    public mutating func record(sequenceNumber: UInt16, arrivalMicroseconds: Int64) {
        let extended: Int64
        if let last = lastExtended {
            // Nearest to the last one: reordering is small next to the 16-bit range.
            extended = last + Int64(Int16(bitPattern: sequenceNumber &- UInt16(truncatingIfNeeded: last)))
            lastExtended = max(last, extended)
        } else {
            extended = Int64(sequenceNumber)
            lastExtended = extended
        }
        if nextToReport == nil {
            nextToReport = extended
            arrivals = Array(repeating: -1, count: Self.capacity)  // once per transport
        }
        guard let next = nextToReport, extended >= next, extended - next < Int64(Self.capacity) else { return }
        let slot = Int(extended & Int64(Self.capacity - 1))
        if arrivals[slot] < 0 { arrivals[slot] = arrivalMicroseconds }  // a duplicate keeps the first arrival
        highest = max(highest, extended)
    }

    /// Feedback for every number since the last feedback up to the highest seen; nil when
    /// nothing new arrived.
    public mutating func feedback(senderSSRC: UInt32, mediaSSRC: UInt32) -> [UInt8]? {
        guard let next = nextToReport, highest >= next else { return nil }
        var times: [Int64?] = []
        times.reserveCapacity(Int(highest - next + 1))
        for sequence in next...highest {
            let slot = Int(sequence & Int64(Self.capacity - 1))
            times.append(arrivals[slot] >= 0 ? arrivals[slot] : nil)
            arrivals[slot] = -1
        }
        nextToReport = highest + 1
        guard let message = TransportCCFeedback(
            senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, baseSequenceNumber: UInt16(truncatingIfNeeded: next),
            feedbackPacketCount: feedbackCount, arrivalTimesMicroseconds: times) else { return nil }
        feedbackCount &+= 1
        var out: [UInt8] = []
        message.write(to: &out)
        return out
    }
}
