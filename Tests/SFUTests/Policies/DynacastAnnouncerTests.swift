import Testing
@testable import SFU

/// Dynacast announcements: up at once, down after a delay that a change of mind cancels.
@Suite struct DynacastAnnouncerTests {
    static let second: UInt64 = 1_000_000_000
    typealias Announcement = DynacastAnnouncer.Announcement

    @Test func theFirstAnnouncementIsImmediateEvenWhenNothingIsWanted() {
        var dynacast = DynacastAnnouncer()
        #expect(dynacast.wanted(nil, trackID: "TR_a", now: 0) == Announcement(trackID: "TR_a", highestLayer: nil))
        #expect(dynacast.wanted(2, trackID: "TR_b", now: 0) == Announcement(trackID: "TR_b", highestLayer: 2))
        #expect(dynacast.wanted(2, trackID: "TR_b", now: 0) == nil)  // unchanged: nothing to say
    }

    @Test func enabledLayersAreThoseUpToTheHighest() {
        let medium = Announcement(trackID: "TR_a", highestLayer: 1)
        #expect([0, 1, 2].map(medium.isEnabled) == [true, true, false])
        let none = Announcement(trackID: "TR_a", highestLayer: nil)
        #expect([0, 1, 2].map(none.isEnabled) == [false, false, false])
    }

    @Test func aNewlyWantedLayerIsAnnouncedAtOnce() {
        var dynacast = DynacastAnnouncer()
        _ = dynacast.wanted(nil, trackID: "TR_a", now: 0)
        #expect(dynacast.wanted(0, trackID: "TR_a", now: 1) == Announcement(trackID: "TR_a", highestLayer: 0))
        #expect(dynacast.wanted(2, trackID: "TR_a", now: 2) == Announcement(trackID: "TR_a", highestLayer: 2))
    }

    @Test func anUnwantedLayerIsAnnouncedAfterTheDelay() {
        var dynacast = DynacastAnnouncer()
        _ = dynacast.wanted(2, trackID: "TR_a", now: 0)
        let t0 = 10 * Self.second
        #expect(dynacast.wanted(0, trackID: "TR_a", now: t0) == nil)
        #expect(dynacast.hasPendingDowngrade(trackID: "TR_a"))
        #expect(dynacast.due(now: t0 + Self.second).isEmpty)
        #expect(dynacast.due(now: t0 + dynacast.downgradeDelay) == [Announcement(trackID: "TR_a", highestLayer: 0)])
        #expect(dynacast.due(now: t0 + 10 * Self.second).isEmpty)  // said once
        #expect(dynacast.wanted(0, trackID: "TR_a", now: t0 + 11 * Self.second) == nil)
    }

    @Test func nobodyWatchingIsADowngradeToo() {
        var dynacast = DynacastAnnouncer()
        _ = dynacast.wanted(1, trackID: "TR_a", now: 0)
        #expect(dynacast.wanted(nil, trackID: "TR_a", now: Self.second) == nil)
        #expect(dynacast.due(now: Self.second + dynacast.downgradeDelay) == [Announcement(trackID: "TR_a", highestLayer: nil)])
    }

    @Test func wantingTheLayerAgainWithinTheDelayCancelsTheDowngrade() {
        var dynacast = DynacastAnnouncer()
        _ = dynacast.wanted(2, trackID: "TR_a", now: 0)
        #expect(dynacast.wanted(0, trackID: "TR_a", now: Self.second) == nil)
        #expect(dynacast.wanted(2, trackID: "TR_a", now: Self.second + 1) == nil)  // as announced: no news
        #expect(!dynacast.hasPendingDowngrade(trackID: "TR_a"))
        #expect(dynacast.due(now: 100 * Self.second).isEmpty)
    }

    @Test func aRiseDuringTheDelayThatStaysBelowTheAnnouncedLayerKeepsWaiting() {
        var dynacast = DynacastAnnouncer()
        _ = dynacast.wanted(2, trackID: "TR_a", now: 0)
        _ = dynacast.wanted(nil, trackID: "TR_a", now: Self.second)
        // Later changes down do not push the deadline back; the latest wish is what goes out.
        #expect(dynacast.wanted(1, trackID: "TR_a", now: 2 * Self.second) == nil)
        #expect(dynacast.due(now: Self.second + dynacast.downgradeDelay) == [Announcement(trackID: "TR_a", highestLayer: 1)])
    }

    @Test func anUpgradeDuringTheDelayGoesOutAtOnceAndCancelsIt() {
        var dynacast = DynacastAnnouncer()
        _ = dynacast.wanted(1, trackID: "TR_a", now: 0)
        _ = dynacast.wanted(0, trackID: "TR_a", now: Self.second)
        #expect(dynacast.wanted(2, trackID: "TR_a", now: 2 * Self.second) == Announcement(trackID: "TR_a", highestLayer: 2))
        #expect(dynacast.due(now: 100 * Self.second).isEmpty)
    }

    @Test func tracksAreIndependentAndForgottenWhenUnpublished() {
        var dynacast = DynacastAnnouncer()
        _ = dynacast.wanted(2, trackID: "TR_a", now: 0)
        _ = dynacast.wanted(2, trackID: "TR_b", now: 0)
        _ = dynacast.wanted(0, trackID: "TR_b", now: 0)
        _ = dynacast.wanted(0, trackID: "TR_a", now: 0)
        #expect(dynacast.due(now: dynacast.downgradeDelay).map(\.trackID) == ["TR_a", "TR_b"])
        dynacast.keep(only: ["TR_b"])
        // TR_a is new again: its first announcement is immediate.
        #expect(dynacast.wanted(0, trackID: "TR_a", now: 0) == Announcement(trackID: "TR_a", highestLayer: 0))
    }
}
