/// How good a participant's connection is, from the loss its media suffers both ways (what we
/// lost of what it publishes, and what it reports losing of what we send it) and from what its
/// downlink estimate lets it receive.
///
/// Each report is one feedback interval's loss, and a single interval is a weak witness (one
/// burst, one late receiver report). So the loss the rating uses moves down to a worse figure
/// only when two reports in a row agree it is worse, and back up only when three in a row agree
/// it is better: a bad moment does not flip the rating, and a recovering link does not bounce.
/// It counts reports rather than time because its inputs are per-interval figures already.
///
/// Jitter and round-trip time would refine the score, but we do not measure them yet. `lost`
/// (media stopped while expected) needs to know a track is muted or paused by dynacast, which
/// the SFU does not know either; so the scorer does not conclude it.
public struct ConnectionQualityScorer: Sendable {
    public enum Quality: Int, Sendable, Comparable, CaseIterable {
        case lost, poor, good, excellent

        public static func < (a: Quality, b: Quality) -> Bool { a.rawValue < b.rawValue }
    }

    /// What its downlink estimate lets it receive, from the last allocation: everything it asked
    /// for, less (some video on a lower layer than asked), or not even every lowest layer (video
    /// paused). A viewer whose link cannot carry what it wants has a worse connection even when
    /// the allocator keeps its loss low by sending less.
    public enum Downlink: Int, Sendable, Equatable {
        case sufficient, reduced, paused
    }

    public struct Sample: Sendable, Equatable {
        public var participant: String
        /// Loss (0...1) over the last interval of the worst track it publishes; 0 when none.
        public var upstreamLoss: Double
        /// Loss (0...1) it reported in its latest receiver report about what we send it.
        public var downstreamLoss: Double
        public var downlink: Downlink

        public init(participant: String, upstreamLoss: Double, downstreamLoss: Double, downlink: Downlink = .sufficient) {
            self.participant = participant
            self.upstreamLoss = upstreamLoss
            self.downstreamLoss = downstreamLoss
            self.downlink = downlink
        }
    }

    public struct Rating: Sendable, Equatable {
        public var participant: String
        public var quality: Quality
        /// 1 (bad) ... 5 (perfect), the scale LiveKit's clients show.
        public var score: Float
    }

    /// Loss below which a connection is excellent; up to `poorLoss` it is good.
    public var excellentLoss = 0.02
    public var poorLoss = 0.10
    /// Reports in a row that must agree before the rating worsens, and before it improves.
    public var reportsToWorsen = 2
    public var reportsToImprove = 3

    private struct State {
        /// The newest reports' loss figures, newest last.
        var recent: [Double] = []
        /// The loss the rating stands on.
        var loss: Double = 0
    }

    private var states: [String: State] = [:]

    public init() {}

    /// One interval's samples. Returns a rating for each, in order. Participants not sampled
    /// are forgotten.
    public mutating func update(_ samples: [Sample]) -> [Rating] {
        var next: [String: State] = [:]
        var ratings: [Rating] = []
        ratings.reserveCapacity(samples.count)
        let kept = max(reportsToWorsen, reportsToImprove)
        for sample in samples {
            var state = states[sample.participant] ?? State()
            state.recent.append(max(0, min(1, max(sample.upstreamLoss, sample.downstreamLoss))))
            if state.recent.count > kept { state.recent.removeFirst(state.recent.count - kept) }
            // Worse: the better of the last few, when they are all worse than where we stand.
            if state.recent.count >= reportsToWorsen,
               let agreed = state.recent.suffix(reportsToWorsen).min(), agreed > state.loss {
                state.loss = agreed
            } else if state.recent.count >= reportsToImprove,
                      let agreed = state.recent.suffix(reportsToImprove).max(), agreed < state.loss {
                state.loss = agreed
            }
            next[sample.participant] = state
            ratings.append(Rating(participant: sample.participant,
                                  quality: min(quality(loss: state.loss), Self.ceiling(sample.downlink)),
                                  score: min(Self.score(loss: state.loss), Self.scoreCeiling(sample.downlink))))
        }
        states = next
        return ratings
    }

    public func quality(loss: Double) -> Quality {
        loss < excellentLoss ? .excellent : loss < poorLoss ? .good : .poor
    }

    /// The best a viewer can be rated with that downlink: reduced video is good at most, paused
    /// video poor (the allocator already waits for an estimate to hold before changing either,
    /// so no extra hysteresis here).
    static func ceiling(_ downlink: Downlink) -> Quality {
        switch downlink {
        case .sufficient: .excellent
        case .reduced: .good
        case .paused: .poor
        }
    }

    static func scoreCeiling(_ downlink: Downlink) -> Float {
        switch downlink {
        case .sufficient: 5
        case .reduced: 3.5
        case .paused: 2
        }
    }

    /// 5 without loss, one point less per 2.5% lost, never under 1.
    public static func score(loss: Double) -> Float {
        Float(max(1, min(5, 5 - loss * 40)))
    }
}
