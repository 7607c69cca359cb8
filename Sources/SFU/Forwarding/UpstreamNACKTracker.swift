/// The packets one publisher layer still owes us, and when to ask for them again.
///
/// A NACK sent once when a gap appears is not enough on a lossy uplink: the resend can be lost
/// too (5% of 5% of packets), and then the packet never arrives. Every viewer's decoder waits
/// on it until a keyframe, asking the server over and over for what it never had (27 such
/// misses and a 4 s freeze in one run of test_loss_recovery). So each missing sequence number
/// is kept and asked for again, as libwebrtc's receiver does, until it arrives, has been asked
/// for `maxRequests` times, or is older than `maxAge` (past that a viewer's own NACK for it is
/// refused anyway, see `RetransmissionPolicy`).
///
/// Fixed capacity, allocated once: the receive path only scans it, and only while it holds
/// something.
public struct UpstreamNACKTracker: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// How long to wait for a resend before asking again (about a round trip and the
        /// publisher's own pacing; libwebrtc ignores a NACK for a packet it resent within one RTT).
        public var retryInterval: UInt64 = 60_000_000
        public var maxRequests: UInt8 = 5
        public var maxAge: UInt64 = 800_000_000
        /// Gaps wider than this are a restart or a long outage, not loss worth repairing.
        public var capacity = 64

        public init() {}
    }

    private struct Entry: Sendable {
        var sequenceNumber: UInt16 = 0
        var missingSince: UInt64 = 0
        var lastRequest: UInt64 = 0
        var requests: UInt8 = 0
    }

    public let configuration: Configuration
    private var entries: [Entry]
    /// Entries in use: `entries[0..<count]`, oldest first.
    public private(set) var count = 0
    /// Requests sent again after the first (for the stats).
    public private(set) var repeatedRequests = 0
    /// Packets given up on (asked for `maxRequests` times or too old).
    public private(set) var abandoned = 0

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        entries = Array(repeating: Entry(), count: max(1, configuration.capacity))
    }

    /// A gap of `count` packets from `first` was just seen and asked for once (at `now`).
    public mutating func missing(first: UInt16, count gap: Int, now: UInt64) {
        guard gap > 0, gap <= configuration.capacity else { return }
        for offset in 0..<gap {
            if count == entries.count { drop(at: 0, abandoning: true) }
            entries[count] = Entry(sequenceNumber: first &+ UInt16(truncatingIfNeeded: offset), missingSince: now,
                                   lastRequest: now, requests: 1)
            count += 1
        }
    }

    /// A packet arrived (late, a resend): no longer owed.
    public mutating func arrived(_ sequenceNumber: UInt16) {
        guard count > 0 else { return }
        for index in 0..<count where entries[index].sequenceNumber == sequenceNumber {
            drop(at: index, abandoning: false)
            return
        }
    }

    /// Calls `request` with each sequence number due to be asked for again at `now` (in the order
    /// they went missing), and forgets those past their last request or too old. Returns how
    /// many it gave up on now: each is a hole every viewer's decoder waits on until a keyframe.
    @discardableResult
    public mutating func due(now: UInt64, _ request: (UInt16) -> Void) -> Int {
        let abandonedBefore = abandoned
        var index = 0
        while index < count {
            let entry = entries[index]
            let waited = now &- entry.lastRequest >= configuration.retryInterval
            if now &- entry.missingSince > configuration.maxAge || (entry.requests >= configuration.maxRequests && waited) {
                drop(at: index, abandoning: true)
                continue
            }
            if waited {
                entries[index].lastRequest = now
                entries[index].requests += 1
                repeatedRequests += 1
                request(entry.sequenceNumber)
            }
            index += 1
        }
        return abandoned - abandonedBefore
    }

    private mutating func drop(at index: Int, abandoning: Bool) {
        if abandoning { abandoned += 1 }
        var i = index
        while i + 1 < count {
            entries[i] = entries[i + 1]
            i += 1
        }
        count -= 1
    }
}
