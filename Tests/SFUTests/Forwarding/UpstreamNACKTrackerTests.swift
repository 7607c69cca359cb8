import Testing
@testable import SFU

@Suite struct UpstreamNACKTrackerTests {
    static let ms: UInt64 = 1_000_000

    @Test func asksAgainEveryRetryIntervalUntilThePacketArrives() {
        var tracker = UpstreamNACKTracker()
        tracker.missing(first: 100, count: 2, now: 0)
        var asked: [UInt16] = []
        tracker.due(now: 30 * Self.ms) { asked.append($0) }
        #expect(asked.isEmpty, "not before the retry interval")
        tracker.due(now: 60 * Self.ms) { asked.append($0) }
        #expect(asked == [100, 101])
        tracker.arrived(100)
        asked.removeAll()
        tracker.due(now: 120 * Self.ms) { asked.append($0) }
        #expect(asked == [101], "what arrived is no longer asked for")
        #expect(tracker.count == 1 && tracker.repeatedRequests == 3)
    }

    @Test func givesUpAfterMaxRequestsOrMaxAge() {
        var tracker = UpstreamNACKTracker()
        tracker.missing(first: 65535, count: 1, now: 0)  // and the wrap: 65535 is owed
        var asked = 0
        for step in 1...4 { tracker.due(now: UInt64(step) * 60 * Self.ms) { _ in asked += 1 } }
        #expect(asked == 4, "5 requests in all, the first when the gap was seen")
        #expect(tracker.due(now: 250 * Self.ms) { _ in } == 0, "the last request still has its interval to be answered")
        #expect(tracker.due(now: 300 * Self.ms) { _ in asked += 1 } == 1, "then it is given up, once")
        #expect(asked == 4 && tracker.count == 0 && tracker.abandoned == 1)

        var old = UpstreamNACKTracker()
        old.missing(first: 7, count: 1, now: 0)
        old.due(now: 900 * Self.ms) { _ in Issue.record("too old to ask for") }
        #expect(old.count == 0 && old.abandoned == 1)
    }

    @Test func aFullTrackerForgetsTheOldestAndWideGapsAreIgnored() {
        var tracker = UpstreamNACKTracker()
        tracker.missing(first: 0, count: 200, now: 0)
        #expect(tracker.count == 0, "a gap wider than the capacity is a restart, not loss")
        for n in 0..<70 { tracker.missing(first: UInt16(n * 2), count: 1, now: UInt64(n)) }
        #expect(tracker.count == 64 && tracker.abandoned == 6)
        var first: UInt16?
        tracker.due(now: 100 * Self.ms) { if first == nil { first = $0 } }
        #expect(first == 12, "the six oldest went first")
    }
}
