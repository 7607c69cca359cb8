import Foundation
import SFU
import Testing
@testable import SluiceServer

/// The scrape-time arithmetic that turns per-object cumulative counters into monotonic ones.
@Suite struct MetricsTests {
    @Test func growthIsWhatIncreasedAndNeverNegative() {
        var before = RoomTraffic.Counts()
        before.packetsIn = 100
        before.bytesOut = 5000
        var now = RoomTraffic.Counts()
        now.packetsIn = 130
        now.bytesOut = 4000  // an older sample applied late: nothing is counted twice
        now.nacksIn = 3
        let grown = now.grown(since: before)
        #expect(grown.packetsIn == 30)
        #expect(grown.bytesOut == 0)
        #expect(grown.nacksIn == 3)
        let mark = now.latest(with: before)
        #expect(mark.packetsIn == 130 && mark.bytesOut == 5000 && mark.nacksIn == 3)
    }

    @Test func processStatsComeFromProc() {
        let sample = ProcessStats.read()
        #expect((sample.residentBytes ?? 0) > 1_000_000)
        #expect((sample.openFDs ?? 0) >= 3)  // stdin, stdout, stderr at least
        #expect(sample.cpuSeconds != nil)
        let start = ProcessStats.startTimeSeconds() ?? 0
        #expect(abs(start - Date().timeIntervalSince1970) < 3600)
    }
}
