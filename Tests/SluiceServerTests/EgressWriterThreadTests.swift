import Egress
import Foundation
import SFU
import Testing
@testable import SluiceServer

/// A recorder that writes down what reaches it, in order.
final class LoggingRecorder: RTPRecorder, @unchecked Sendable {
    let path = "/dev/null"
    var onKeyframeNeeded: ((Int) -> Void)?
    var onFailure: ((RecordingError) -> Void)?
    var keyframeRequestIntervalNanoseconds: UInt64 = 0
    var tickIntervalNanoseconds: UInt64 { 5_000_000 }
    private let lock = NSLock()
    private var _log: [String] = []
    private(set) var ticks = 0
    var hasWrittenFrames: Bool { lock.withLock { !_log.isEmpty } }
    var log: [String] { lock.withLock { _log } }

    func note(_ entry: String) { lock.withLock { _log.append(entry) } }
    func receiveRTP(_ packet: UnsafeRawBufferPointer, track: Int, arrivalNanoseconds: UInt64) { note("rtp \(track) \(packet[0])") }
    func receiveSenderReport(track: Int, ntp: UInt64, rtpTimestamp: UInt32) { note("sr \(track)") }
    func tick(now: UInt64, backlog: UInt64) { lock.withLock { ticks += 1 } }
    func finish() throws(RecordingError) -> RecordingResult {
        note("finish")
        return RecordingResult(filename: path, sizeBytes: 0, durationNanoseconds: 0, startedAtNanoseconds: 0,
                               endedAtNanoseconds: 0, framesWritten: [])
    }
}

@Suite struct EgressWriterThreadTests {
    @Test func commandsRunInOrderWithThePacketsAroundThem() async throws {
        let recorder = LoggingRecorder()
        let active = NSLock()
        nonisolated(unsafe) var activated = 0
        let writer = EgressWriterThread(recorder: recorder, name: "test-writer", onActive: {
            active.withLock { activated += 1 }
        })
        writer.start()
        for round in 0..<3 {
            [UInt8(round)].withUnsafeBytes { writer.push($0, track: 1, arrival: 0) }
            writer.perform { recorder.note("command \(round)") }
            writer.pushSenderReport(track: 2, ntp: 0, rtpTimestamp: 0)
        }
        try await Task.sleep(for: .milliseconds(30))
        let result = await writer.finish()
        #expect((try? result.get())?.filename == "/dev/null")
        #expect(recorder.log == ["rtp 1 0", "command 0", "sr 2", "rtp 1 1", "command 1", "sr 2",
                                 "rtp 1 2", "command 2", "sr 2", "finish"])
        #expect(recorder.ticks >= 1, "ticked at the recorder's own interval")
        #expect(active.withLock { activated } == 1)
        // After finish, commands are refused rather than left waiting.
        writer.perform { recorder.note("late") }
        #expect(!recorder.log.contains("late"))
    }

    /// A writer that runs behind (its packets arrived a second ago and it is still working through
    /// them) ticks its recorder on the packets' arrival clock: no tick is later than a packet
    /// still to come, so a gap that packet fills is never taken for loss.
    @Test func ticksNeverRunAheadOfQueuedPackets() async throws {
        let recorder = SlowRecorder()
        let writer = EgressWriterThread(recorder: recorder, name: "test-slow", onActive: {})
        let base = SystemClock.monotonic() - 1_000_000_000
        for n in 0..<60 {
            [UInt8(n)].withUnsafeBytes { writer.push($0, track: 0, arrival: base + UInt64(n) * 1_000_000) }
        }
        writer.start()
        _ = await writer.finish()
        let events = recorder.events
        #expect(events.filter { !$0.isTick }.count == 60)
        let ticks = events.indices.filter { events[$0].isTick }
        #expect(ticks.count >= 3, "ticked while working through the backlog: \(ticks.count)")
        for index in ticks {
            guard let next = events[(index + 1)...].first(where: { !$0.isTick }) else { continue }
            #expect(events[index].time <= next.time, "tick at \(events[index].time) before a packet that arrived at \(next.time)")
            // And says how far behind it is (the packets arrived about a second ago).
            #expect(events[index].backlog >= 900_000_000, "backlog \(events[index].backlog)")
        }
    }
}

/// Takes 3 ms per packet (a writer on a busy machine) and writes down packet arrivals and ticks
/// in order.
final class SlowRecorder: RTPRecorder, @unchecked Sendable {
    struct Event { var isTick: Bool; var time: UInt64; var backlog: UInt64 = 0 }
    var onKeyframeNeeded: ((Int) -> Void)?
    var onFailure: ((RecordingError) -> Void)?
    var keyframeRequestIntervalNanoseconds: UInt64 = 0
    var tickIntervalNanoseconds: UInt64 { 10_000_000 }
    var hasWrittenFrames: Bool { false }
    private let lock = NSLock()
    private var _events: [Event] = []
    var events: [Event] { lock.withLock { _events } }

    func receiveRTP(_ packet: UnsafeRawBufferPointer, track: Int, arrivalNanoseconds: UInt64) {
        usleep(3000)
        lock.withLock { _events.append(Event(isTick: false, time: arrivalNanoseconds)) }
    }
    func receiveSenderReport(track: Int, ntp: UInt64, rtpTimestamp: UInt32) {}
    func tick(now: UInt64, backlog: UInt64) {
        lock.withLock { _events.append(Event(isTick: true, time: now, backlog: backlog)) }
    }
    func finish() throws(RecordingError) -> RecordingResult {
        RecordingResult(filename: "/dev/null", sizeBytes: 0, durationNanoseconds: 0, startedAtNanoseconds: 0,
                        endedAtNanoseconds: 0, framesWritten: [])
    }
}
