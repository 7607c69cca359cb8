import Synchronization

/// How many descriptors the process has open, as admission asks for it.
///
/// Counting means reading `/proc/self/fd`, one entry per open descriptor: asked for by every join,
/// a storm of N joins against a server holding F sockets read N x F entries. The gauge counts at
/// most once per `interval` and adds `filesPerJoin` for each join let in since, so a burst between
/// two counts is still charged for what it will open and cannot overshoot the limit unseen.
final class OpenFileGauge: Sendable {
    private struct State {
        var counted = 0
        var countedAt: ContinuousClock.Instant?
        var admittedSince = 0
    }
    private let state = Mutex(State())
    private let interval: Duration
    private let filesPerJoin: Int
    private let count: @Sendable () -> Int?
    private let now: @Sendable () -> ContinuousClock.Instant

    /// Process-wide: descriptors are the process's, whichever listener admits the join.
    static let shared = OpenFileGauge(filesPerJoin: ResourceLimits.filesPerParticipant)

    init(interval: Duration = .milliseconds(200), filesPerJoin: Int,
         count: @escaping @Sendable () -> Int? = { ResourceLimits.openFileCount() },
         now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.interval = interval
        self.filesPerJoin = filesPerJoin
        self.count = count
        self.now = now
    }

    /// Whether one more join fits under `limit` descriptors (keeping `reserve` free); a join that
    /// fits is charged at once. True when the count cannot be read (no /proc).
    func admitOne(limit: UInt64, reserve: Int) -> Bool {
        state.withLock { s in
            let t = now()
            if s.countedAt.map({ t - $0 >= interval }) ?? true {
                guard let counted = count() else { return true }
                s.counted = counted
                s.countedAt = t
                s.admittedSince = 0
            }
            let expected = s.counted + (s.admittedSince + 1) * filesPerJoin + reserve
            guard UInt64(expected) <= limit else { return false }
            s.admittedSince += 1
            return true
        }
    }
}
