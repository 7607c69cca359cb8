/// Picks the participant the speaker layouts show large, from how loud each one's decoded audio
/// is: the loudest recent voice, with some stickiness so the picture does not flap between two
/// people talking over each other.
///
/// Each participant's loudness is an exponential average of the RMS of its audio (time constant
/// `smoothingNanoseconds`). A participant whose average is above `silence` may take over when it
/// is `switchRatio` times louder than the current speaker, and not sooner than `holdNanoseconds`
/// after the last change. The current speaker stays when everyone falls silent, as a viewer would
/// expect from a call recording. Times are on any monotonic clock in nanoseconds.
public struct ActiveSpeakerDetector {
    public var smoothingNanoseconds: Int64 = 300_000_000
    public var holdNanoseconds: Int64 = 1_000_000_000
    public var silence: Float = 0.003  // about -50 dBFS
    public var switchRatio: Float = 1.5

    public private(set) var current: String?
    private var loudness: [String: (level: Float, at: Int64)] = [:]
    private var changedAt: Int64?

    public init() {}

    /// Audio of `participant` with root-mean-square `rms` (0...1) covering time up to `at`.
    public mutating func note(_ participant: String, rms: Float, duration: Int64, at: Int64) {
        let previous = loudness[participant]
        let elapsed = previous.map { max(0, at - $0.at) } ?? duration
        // The share of the new value: the weight an exponential average gives `elapsed` of signal.
        let weight = Float(min(1, Double(max(elapsed, 1)) / Double(smoothingNanoseconds)))
        let level = (previous?.level ?? 0) * (1 - weight) + rms * weight
        loudness[participant] = (level, at)
        decide(at: at)
    }

    /// Forgets a participant (left, or unpublished its microphone).
    public mutating func remove(_ participant: String) {
        loudness[participant] = nil
        if current == participant { current = nil }
    }

    /// Current level of a participant (for tests and logs).
    public func level(of participant: String) -> Float { loudness[participant]?.level ?? 0 }

    private mutating func decide(at now: Int64) {
        guard let loudest = loudness.max(by: { $0.value.level < $1.value.level }), loudest.value.level > silence,
              loudest.key != current else { return }
        let currentLevel = current.flatMap { loudness[$0]?.level } ?? 0
        if current != nil {
            if let changedAt, now - changedAt < holdNanoseconds { return }
            guard loudest.value.level > currentLevel * switchRatio else { return }
        }
        current = loudest.key
        changedAt = now
    }
}
