import Testing
@testable import SFU

/// Speakers as a LiveKit client shows them: on at once, steady through the gaps between words,
/// off after a real pause, loudest first, never a hidden participant.
@Suite struct ActiveSpeakerDetectorTests {
    static let tick: UInt64 = 500_000_000
    static let voice = 20  // -dBov: a voice near the microphone
    static let silence = 127

    struct Clocked {
        var detector = ActiveSpeakerDetector()
        var now: UInt64 = 1_000_000_000

        mutating func tick(_ samples: [ActiveSpeakerDetector.Sample]) -> [ActiveSpeakerDetector.Speaker]? {
            defer { now += ActiveSpeakerDetectorTests.tick }
            return detector.update(samples, now: now)
        }
    }

    static func alice(_ level: Int?) -> ActiveSpeakerDetector.Sample {
        .init(participant: "PA_alice", levels: level.map { [$0] } ?? [])
    }

    @Test func startsSpeakingAtOnceWithTheLinearLevel() {
        var clocked = Clocked()
        #expect(clocked.tick([Self.alice(Self.silence)]) == nil)
        let change = clocked.tick([Self.alice(Self.voice)])
        #expect(change == [.init(participant: "PA_alice", level: ActiveSpeakerDetector.linear(dBov: 20), active: true)])
        #expect(abs(ActiveSpeakerDetector.linear(dBov: 20) - 0.1) < 0.0001)
        #expect(clocked.tick([Self.alice(Self.voice)]) == nil)  // still speaking: no news
    }

    @Test func aPauseShorterThanTheHoldChangesNothing() {
        var clocked = Clocked()
        #expect(clocked.tick([Self.alice(Self.voice)]) != nil)
        // A gap between sentences: one silent tick, then no level at all for another (DTX).
        #expect(clocked.tick([Self.alice(Self.silence)]) == nil)
        #expect(clocked.detector.speakers.map(\.participant) == ["PA_alice"])
        #expect(clocked.tick([Self.alice(Self.voice)]) == nil)
        #expect(clocked.tick([Self.alice(nil)]) == nil)
        #expect(clocked.tick([Self.alice(Self.voice)]) == nil)
    }

    @Test func stopsOnceSilentForTheHold() {
        var clocked = Clocked()
        _ = clocked.tick([Self.alice(Self.voice)])       // t0: speaks
        #expect(clocked.tick([Self.alice(Self.silence)]) == nil)  // t0 + 0.5 s: held
        // t0 + 1 s: the hold (1 s) is over.
        #expect(clocked.tick([Self.alice(Self.silence)]) == [.init(participant: "PA_alice", level: 0, active: false)])
        #expect(clocked.detector.speakers.isEmpty)
        #expect(clocked.tick([Self.alice(Self.silence)]) == nil)
    }

    @Test func theLevelFadesWhileHeld() {
        var clocked = Clocked()
        _ = clocked.tick([Self.alice(Self.voice)])
        _ = clocked.tick([Self.alice(Self.silence)])
        let held = clocked.detector.speakers.first?.level ?? 0
        #expect(held > 0 && held < ActiveSpeakerDetector.linear(dBov: Self.voice))
    }

    @Test func quietTicksBelowTheThresholdAreNotSpeech() {
        var clocked = Clocked()
        #expect(clocked.tick([Self.alice(41)]) == nil)
        #expect(clocked.tick([Self.alice(40)]) != nil)
    }

    @Test func speakersAreOrderedLoudestFirstAndTheLoudestTrackCounts() {
        var clocked = Clocked()
        let change = clocked.tick([
            .init(participant: "PA_bob", levels: [30]),
            .init(participant: "PA_alice", levels: [90, 10]),  // a silent screen-share audio, a loud mic
        ])
        #expect(change?.map(\.participant) == ["PA_alice", "PA_bob"])
        #expect(change?.allSatisfy(\.active) == true)
        // Bob gets louder and Alice quieter; the smoothed order follows within a couple of ticks
        // but it is no news until someone starts or stops.
        for _ in 0..<4 {
            #expect(clocked.tick([.init(participant: "PA_bob", levels: [6]), .init(participant: "PA_alice", levels: [30])]) == nil)
        }
        #expect(clocked.detector.speakers.map(\.participant) == ["PA_bob", "PA_alice"])
        // Carol joins in: the change lists everyone speaking, loudest first.
        let joined = clocked.tick([
            .init(participant: "PA_bob", levels: [6]), .init(participant: "PA_alice", levels: [30]),
            .init(participant: "PA_carol", levels: [12]),
        ])
        #expect(joined?.map(\.participant) == ["PA_bob", "PA_carol", "PA_alice"])
    }

    @Test func oneStoppingIsListedAfterThoseStillSpeaking() {
        var clocked = Clocked()
        _ = clocked.tick([.init(participant: "PA_alice", levels: [10]), .init(participant: "PA_bob", levels: [20])])
        _ = clocked.tick([.init(participant: "PA_alice", levels: [127]), .init(participant: "PA_bob", levels: [20])])
        let change = clocked.tick([.init(participant: "PA_alice", levels: [127]), .init(participant: "PA_bob", levels: [20])])
        #expect(change?.map(\.participant) == ["PA_bob", "PA_alice"])
        #expect(change?.map(\.active) == [true, false])
        #expect(change?.last?.level == 0)
    }

    @Test func hiddenParticipantsAreNeverSpeakers() {
        var clocked = Clocked()
        let ghost = ActiveSpeakerDetector.Sample(participant: "PA_ghost", levels: [0], hidden: true)
        #expect(clocked.tick([ghost]) == nil)
        let change = clocked.tick([ghost, Self.alice(Self.voice)])
        #expect(change?.map(\.participant) == ["PA_alice"])
    }

    @Test func oneWhoLeavesOrIsHiddenStopsAtOnce() {
        var clocked = Clocked()
        _ = clocked.tick([Self.alice(Self.voice), .init(participant: "PA_bob", levels: [Self.voice])])
        // Bob left: no hold for him.
        #expect(clocked.tick([Self.alice(Self.voice)]) == [
            .init(participant: "PA_alice", level: ActiveSpeakerDetector.linear(dBov: Self.voice), active: true),
            .init(participant: "PA_bob", level: 0, active: false),
        ])
        // Alice becomes hidden while speaking.
        let hidden = ActiveSpeakerDetector.Sample(participant: "PA_alice", levels: [Self.voice], hidden: true)
        #expect(clocked.tick([hidden]) == [.init(participant: "PA_alice", level: 0, active: false)])
    }
}
