/// Lets at most one keyframe request (PLI/FIR) through per interval, so a crowd of subscribers
/// asking at once costs the publisher one keyframe. A pure value driven by an injected clock.
public struct KeyframeRequestThrottle: Sendable, Equatable {
    public var intervalNanoseconds: UInt64
    public private(set) var lastSent: UInt64?
    public private(set) var sent = 0
    public private(set) var suppressed = 0

    public init(intervalNanoseconds: UInt64 = 500_000_000) {
        self.intervalNanoseconds = intervalNanoseconds
    }

    /// True (and records the send) when a request may go out at `now`.
    public mutating func shouldSend(now: UInt64) -> Bool {
        if let lastSent, now &- lastSent < intervalNanoseconds {
            suppressed += 1
            return false
        }
        lastSent = now
        sent += 1
        return true
    }

    /// Records a request that went out regardless (a recorder starting must not wait out the
    /// interval a subscriber's request just opened), so the next ones are throttled from it.
    public mutating func recordForced(now: UInt64) {
        lastSent = now
        sent += 1
    }
}
