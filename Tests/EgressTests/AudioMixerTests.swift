import Testing
@testable import Egress

/// The mix: sums in place, clipped on the way out, late and early samples dropped and counted.
@Suite struct AudioMixerTests {
    static func read(_ mixer: inout AudioMixer, _ count: Int) -> (left: [Float], right: [Float]) {
        var left = [Float](repeating: 9, count: count), right = [Float](repeating: 9, count: count)
        left.withUnsafeMutableBufferPointer { l in
            right.withUnsafeMutableBufferPointer { r in mixer.read(count: count, left: l.baseAddress!, right: r.baseAddress!) }
        }
        return (left, right)
    }

    static func add(_ mixer: inout AudioMixer, _ left: [Float], _ right: [Float]? = nil, at position: Int64) {
        left.withUnsafeBufferPointer { l in
            if let right {
                right.withUnsafeBufferPointer { r in mixer.add(left: l.baseAddress!, right: r.baseAddress!, count: left.count, at: position) }
            } else {
                mixer.add(left: l.baseAddress!, right: nil, count: left.count, at: position)
            }
        }
    }

    @Test func sumsTracksAtTheirPositionsAndClips() {
        var mixer = AudioMixer(capacity: 16)
        Self.add(&mixer, [0.5, 0.5, 0.5, 0.5], at: 0)             // mono: both sides
        Self.add(&mixer, [0.25, 0.25], [-0.25, -0.25], at: 2)   // stereo, overlapping the end
        Self.add(&mixer, [0.9, 0.9], at: 3)                     // pushes one sample over 1
        let out = Self.read(&mixer, 6)
        #expect(out.left == [0.5, 0.5, 0.75, 1, 0.9, 0])
        #expect(out.right == [0.5, 0.5, 0.25, 1, 0.9, 0])
        #expect(mixer.readPosition == 6)
        // What was read is cleared: the ring comes round empty.
        #expect(Self.read(&mixer, 16).left.allSatisfy { $0 == 0 })
    }

    @Test func lateAndTooEarlySamplesAreDroppedAndCounted() {
        var mixer = AudioMixer(capacity: 8)
        _ = Self.read(&mixer, 4)
        Self.add(&mixer, [0.1, 0.2, 0.3], at: 2)  // two of three too late
        #expect(mixer.samplesLate == 2)
        Self.add(&mixer, [0.5, 0.5, 0.5], at: 10)  // 10 fits (4 + 8 = 12 is the horizon), 11 fits, 12 does not
        #expect(mixer.samplesTooEarly == 1)
        let out = Self.read(&mixer, 8)
        #expect(out.left == [0.3, 0, 0, 0, 0, 0, 0.5, 0.5])
    }

    @Test func skipMovesTheStartWithoutOutput() {
        var mixer = AudioMixer(capacity: 8)
        Self.add(&mixer, [0.7], at: 1)
        mixer.skip(to: 100)
        #expect(mixer.readPosition == 100)
        Self.add(&mixer, [0.4], at: 101)
        #expect(Self.read(&mixer, 2).left == [0, 0.4], "the sample skipped over does not come back")
    }
}

/// Who the speaker layouts show large.
@Suite struct ActiveSpeakerDetectorTests {
    static let ms: Int64 = 1_000_000

    @Test func theLoudestTakesOverAfterTheHoldAndSilenceKeepsTheCurrent() {
        var detector = ActiveSpeakerDetector()
        var now: Int64 = 0
        func feed(_ levels: [String: Float], for duration: Int64) {
            let end = now + duration
            while now < end {
                now += 20 * Self.ms
                for (who, rms) in levels.sorted(by: { $0.key < $1.key }) { detector.note(who, rms: rms, duration: 20 * Self.ms, at: now) }
            }
        }
        feed(["alice": 0, "bob": 0], for: 500 * Self.ms)
        #expect(detector.current == nil, "silence is nobody")
        feed(["alice": 0.2, "bob": 0.01], for: 500 * Self.ms)
        #expect(detector.current == "alice")
        // Bob gets louder at once, but alice keeps the picture for the hold time.
        feed(["alice": 0.1, "bob": 0.3], for: 300 * Self.ms)
        #expect(detector.current == "alice")
        feed(["alice": 0.1, "bob": 0.3], for: 1000 * Self.ms)
        #expect(detector.current == "bob")
        // Slightly louder is not enough to switch back.
        feed(["alice": 0.35, "bob": 0.3], for: 2000 * Self.ms)
        #expect(detector.current == "bob")
        feed(["alice": 0, "bob": 0], for: 2000 * Self.ms)
        #expect(detector.current == "bob", "everyone quiet: the last speaker stays")
        detector.remove("bob")
        #expect(detector.current == nil)
    }
}
