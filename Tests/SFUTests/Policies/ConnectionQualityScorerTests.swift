import Testing
@testable import SFU

/// Connection quality from loss both ways, steady against a single bad or good report.
@Suite struct ConnectionQualityScorerTests {
    static func sample(_ up: Double, _ down: Double = 0, _ id: String = "PA_a") -> ConnectionQualityScorer.Sample {
        .init(participant: id, upstreamLoss: up, downstreamLoss: down)
    }

    @Test func noLossIsExcellentWithFullScore() {
        var scorer = ConnectionQualityScorer()
        let rating = scorer.update([Self.sample(0)])
        #expect(rating == [.init(participant: "PA_a", quality: .excellent, score: 5)])
    }

    @Test func lossThresholdsAndScores() {
        let scorer = ConnectionQualityScorer()
        #expect(scorer.quality(loss: 0.019) == .excellent)
        #expect(scorer.quality(loss: 0.02) == .good)
        #expect(scorer.quality(loss: 0.099) == .good)
        #expect(scorer.quality(loss: 0.10) == .poor)
        #expect(ConnectionQualityScorer.score(loss: 0.05) == 3)
        #expect(ConnectionQualityScorer.score(loss: 0.5) == 1)
    }

    @Test func oneBadReportDoesNotFlipTheRating() {
        var scorer = ConnectionQualityScorer()
        _ = scorer.update([Self.sample(0)])
        #expect(scorer.update([Self.sample(0.3)]).first?.quality == .excellent)
        #expect(scorer.update([Self.sample(0)]).first?.quality == .excellent)
        // Not even as the very first report.
        var fresh = ConnectionQualityScorer()
        #expect(fresh.update([Self.sample(0.3)]).first?.quality == .excellent)
    }

    @Test func twoBadReportsInARowWorsenItToTheBetterOfThem() {
        var scorer = ConnectionQualityScorer()
        _ = scorer.update([Self.sample(0)])
        _ = scorer.update([Self.sample(0.3)])
        let rating = scorer.update([Self.sample(0.05)]).first
        #expect(rating?.quality == .good)
        #expect(rating?.score == 3)
        // 5% then 30%: still good; 30% twice: poor.
        #expect(scorer.update([Self.sample(0.3)]).first?.quality == .good)
        #expect(scorer.update([Self.sample(0.3)]).first?.quality == .poor)
    }

    @Test func downstreamLossCountsAsMuchAsUpstream() {
        var scorer = ConnectionQualityScorer()
        _ = scorer.update([Self.sample(0, 0.2)])
        #expect(scorer.update([Self.sample(0.01, 0.2)]).first?.quality == .poor)
    }

    @Test func recoveryNeedsThreeGoodReports() {
        var scorer = ConnectionQualityScorer()
        _ = scorer.update([Self.sample(0.3)])
        #expect(scorer.update([Self.sample(0.3)]).first?.quality == .poor)
        #expect(scorer.update([Self.sample(0)]).first?.quality == .poor)
        #expect(scorer.update([Self.sample(0)]).first?.quality == .poor)
        let back = scorer.update([Self.sample(0)]).first
        #expect(back?.quality == .excellent && back?.score == 5)
    }

    @Test func aBadReportInTheRecoveryHoldsItBack() {
        var scorer = ConnectionQualityScorer()
        _ = scorer.update([Self.sample(0.3)])
        _ = scorer.update([Self.sample(0.3)])
        _ = scorer.update([Self.sample(0)])
        _ = scorer.update([Self.sample(0.04)])
        // The last three agree on at most 4% loss: better than 30%, not yet excellent.
        let rating = scorer.update([Self.sample(0)]).first
        #expect(rating?.quality == .good)
        #expect(rating?.score == ConnectionQualityScorer.score(loss: 0.04))
    }

    @Test func participantsAreRatedApartAndForgottenWhenGone() {
        var scorer = ConnectionQualityScorer()
        _ = scorer.update([Self.sample(0.3, 0, "PA_a"), Self.sample(0, 0, "PA_b")])
        let ratings = scorer.update([Self.sample(0.3, 0, "PA_a"), Self.sample(0, 0, "PA_b")])
        #expect(ratings.map(\.participant) == ["PA_a", "PA_b"])
        #expect(ratings.map(\.quality) == [.poor, .excellent])
        _ = scorer.update([Self.sample(0, 0, "PA_b")])
        // A's history went with it: back as new, one bad report is not enough.
        #expect(scorer.update([Self.sample(0.3, 0, "PA_a")]).first?.quality == .excellent)
    }

    @Test func aDownlinkThatCannotCarryWhatIsAskedForLowersTheRating() {
        var scorer = ConnectionQualityScorer()
        func rate(_ downlink: ConnectionQualityScorer.Downlink, loss: Double = 0) -> ConnectionQualityScorer.Rating? {
            scorer.update([ConnectionQualityScorer.Sample(participant: "PA_v", upstreamLoss: 0, downstreamLoss: loss,
                                                          downlink: downlink)]).first
        }
        #expect(rate(.sufficient)?.quality == .excellent)
        let reduced = rate(.reduced)
        #expect(reduced?.quality == .good && reduced?.score == 3.5)
        let paused = rate(.paused)
        #expect(paused?.quality == .poor && paused?.score == 2)
        // Loss still counts on top: heavy loss with a reduced downlink is poor.
        _ = rate(.reduced, loss: 0.3)
        #expect(rate(.reduced, loss: 0.3)?.quality == .poor)
        #expect(rate(.sufficient)?.quality == .poor, "the loss recovers slowly, not the downlink's share")
    }
}
