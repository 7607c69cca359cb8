#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decides who is speaking in a room from the audio levels publishers put in their packets
/// (RFC 6464), one update per tick, and says when the set of speakers changed.
///
/// - A participant speaks in a tick when its loudest audio track was at or above `activeLevel`.
/// - It stays active through pauses shorter than `hold`: the gaps between words and sentences
///   would otherwise make the speaker indicator flash on every breath.
/// - It leaves at once when it is no longer in the samples (left the room) or is hidden:
///   holding someone who is gone only delays the truth.
/// - Levels are linear (0...1, 1 = full scale) and smoothed, so the order of two people talking
///   together does not swap on every syllable.
/// A pure value driven by the `now` it is given.
public struct ActiveSpeakerDetector: Sendable {
    /// What one participant sent since the last update.
    public struct Sample: Sendable, Equatable {
        public var participant: String
        /// Mean level of each audio track since the last update, in -dBov (0 = loudest,
        /// 127 = silence); empty when no level arrived.
        public var levels: [Int]
        /// Hidden participants (recorders, agents that only listen) are never speakers.
        public var hidden: Bool

        public init(participant: String, levels: [Int], hidden: Bool = false) {
            self.participant = participant
            self.levels = levels
            self.hidden = hidden
        }
    }

    public struct Speaker: Sendable, Equatable {
        public var participant: String
        /// Smoothed linear level, 0...1; 0 for one who stopped.
        public var level: Float
        public var active: Bool

        public init(participant: String, level: Float, active: Bool) {
            self.participant = participant
            self.level = level
            self.active = active
        }
    }

    /// -dBov at or below which a tick counts as speech (40 dB under full scale: a voice near a
    /// microphone is well above it, room noise below).
    public var activeLevel = 40
    /// How long a speaker stays active after its last speech.
    public var hold: UInt64 = 1_000_000_000
    /// Weight of the newest tick in the smoothed level (an exponential moving average).
    public var smoothing: Float = 0.5

    private struct State {
        var level: Float
        var lastSpeech: UInt64
    }

    /// Speakers now active, by participant.
    private var active: [String: State] = [:]

    public init() {}

    /// The participants active now, loudest first.
    public var speakers: [Speaker] {
        Self.ordered(active).map { Speaker(participant: $0.key, level: $0.value.level, active: true) }
    }

    /// One tick's samples at `now`. Returns the speakers, loudest first, followed by those who
    /// stopped (level 0, not active) when the set of active speakers changed; nil otherwise.
    public mutating func update(_ samples: [Sample], now: UInt64) -> [Speaker]? {
        var next: [String: State] = [:]
        for sample in samples where !sample.hidden {
            let previous = active[sample.participant]
            let heard = sample.levels.min()
            let linear = heard.map { Self.linear(dBov: $0) } ?? 0
            if let heard, heard <= activeLevel {
                // A new speaker starts at what it said, not at a fraction of it.
                let level = previous.map { $0.level + (linear - $0.level) * smoothing } ?? linear
                next[sample.participant] = State(level: level, lastSpeech: now)
            } else if let previous, now &- previous.lastSpeech < hold {
                next[sample.participant] = State(level: previous.level + (linear - previous.level) * smoothing,
                                                 lastSpeech: previous.lastSpeech)
            }
        }
        let changed = Set(next.keys) != Set(active.keys)
        let stopped = active.keys.filter { next[$0] == nil }.sorted()
        active = next
        guard changed else { return nil }
        return speakers + stopped.map { Speaker(participant: $0, level: 0, active: false) }
    }

    /// -dBov (RFC 6464) to a linear level, 0...1.
    public static func linear(dBov: Int) -> Float {
        Float(pow(10, -Double(min(127, max(0, dBov))) / 20))
    }

    private static func ordered(_ states: [String: State]) -> [(key: String, value: State)] {
        states.sorted { $0.value.level != $1.value.level ? $0.value.level > $1.value.level : $0.key < $1.key }
    }
}
