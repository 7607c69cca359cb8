import Testing
@testable import MediaPlane

/// The rate limit on "publisher packets dropped before forwarding": the first drops are told at
/// once, later ones at most every `interval` with the count since the last notice.
@Suite struct ReceiveDropNoticesTests {
    @Test func firstDropsAreToldAtOnceThenAtMostEveryInterval() {
        var notices = ReceiveDropNotices()
        let start = ContinuousClock.now
        #expect(notices.due(total: 0, now: start) == nil)  // nothing dropped
        #expect(notices.due(total: 3, now: start) == 3)
        #expect(notices.reported == 3)
        // A stall keeps dropping: nothing more within the interval, the count keeps.
        #expect(notices.due(total: 40, now: start + .seconds(1)) == nil)
        #expect(notices.due(total: 90, now: start + .seconds(9)) == nil)
        #expect(notices.reported == 3)
        // The interval passed: everything since the last notice, in one.
        #expect(notices.due(total: 95, now: start + .seconds(10)) == 92)
        #expect(notices.reported == 95)
        // No new drops: nothing to tell, however long it has been.
        #expect(notices.due(total: 95, now: start + .seconds(60)) == nil)
        // New drops after a quiet spell are told at once.
        #expect(notices.due(total: 96, now: start + .seconds(61)) == 1)
    }
}
