import Media
import Testing
@testable import Egress

/// Table tests on hand-made packets: order, duplicates, loss after the latency budget, wrap.
@Suite struct RTPReorderBufferTests {
    static func packet(_ sequence: UInt16, timestamp: UInt32 = 0) -> [UInt8] {
        try! RTPPacketBuilder(payloadType: 96, sequenceNumber: sequence, timestamp: timestamp, ssrc: 1, payload: [0xAB]).bytes()
    }

    /// Inserts `sequence` at `now` and returns what became deliverable as (seq, lostBefore).
    static func push(_ buffer: RTPReorderBuffer, _ sequence: UInt16, now: UInt64) -> [(UInt16, Int)] {
        let bytes = packet(sequence)
        bytes.withUnsafeBytes { _ = buffer.insert($0, arrivalNanoseconds: now) }
        return drain(buffer, now: now)
    }

    static func drain(_ buffer: RTPReorderBuffer, now: UInt64) -> [(UInt16, Int)] {
        var out: [(UInt16, Int)] = []
        buffer.drain(now: now) { bytes, lost in out.append((UInt16(bytes[2]) << 8 | UInt16(bytes[3]), lost)) }
        return out
    }

    /// A buffer that has delivered `first` (after the start-up hold of one latency budget).
    static func started(at first: UInt16, capacity: Int = 16, latency: UInt64 = 100) -> RTPReorderBuffer {
        let buffer = RTPReorderBuffer(capacity: capacity, maxLatencyNanoseconds: latency)
        #expect(push(buffer, first, now: 0).isEmpty, "the first packet is held")
        #expect(drain(buffer, now: latency).map(\.0) == [first])
        return buffer
    }

    @Test func inOrderPacketsPassStraightThrough() {
        let buffer = Self.started(at: 9)
        for s: UInt16 in 10..<20 {
            let out = Self.push(buffer, s, now: 200)
            #expect(out.map(\.0) == [s] && out.map(\.1) == [0])
        }
        #expect(buffer.count == 0)
    }

    @Test func packetsOvertakingTheFirstOneStillLeadTheStream() {
        let buffer = RTPReorderBuffer(capacity: 16, maxLatencyNanoseconds: 100)
        #expect(Self.push(buffer, 12, now: 0).isEmpty)
        #expect(Self.push(buffer, 10, now: 50).isEmpty)
        #expect(Self.push(buffer, 11, now: 60).isEmpty)
        #expect(Self.drain(buffer, now: 100).map(\.0) == [10, 11, 12])
        #expect(buffer.packetsLost == 0)
    }

    @Test func reorderedPacketsComeOutInOrder() {
        let buffer = Self.started(at: 1)
        #expect(Self.push(buffer, 3, now: 101).isEmpty, "2 is missing: hold 3")
        #expect(Self.push(buffer, 4, now: 102).isEmpty)
        #expect(Self.push(buffer, 2, now: 103).map(\.0) == [2, 3, 4])
        #expect(buffer.packetsLost == 0)
    }

    @Test func duplicatesAndLatePacketsAreRefused() {
        let buffer = Self.started(at: 1)
        _ = Self.push(buffer, 3, now: 100)
        Self.packet(3).withUnsafeBytes { #expect(buffer.insert($0, arrivalNanoseconds: 0) == .duplicate) }
        Self.packet(1).withUnsafeBytes { #expect(buffer.insert($0, arrivalNanoseconds: 0) == .tooLate) }
        [UInt8](repeating: 0, count: 5).withUnsafeBytes { #expect(buffer.insert($0, arrivalNanoseconds: 0) == .malformed) }
        [UInt8](repeating: 0x80, count: 2000).withUnsafeBytes { #expect(buffer.insert($0, arrivalNanoseconds: 0) == .tooLarge) }
    }

    @Test func gapIsDeclaredLostAfterTheLatencyBudget() {
        let buffer = Self.started(at: 1)
        #expect(Self.push(buffer, 4, now: 1010).isEmpty)
        #expect(Self.push(buffer, 5, now: 1020).isEmpty)
        #expect(Self.drain(buffer, now: 1109).isEmpty, "4 has waited 99 ns")
        let out = Self.drain(buffer, now: 1110)
        #expect(out.map(\.0) == [4, 5])
        #expect(out.map(\.1) == [2, 0], "2 and 3 reported lost before 4")
        #expect(buffer.packetsLost == 2)
        Self.packet(2).withUnsafeBytes { #expect(buffer.insert($0, arrivalNanoseconds: 200) == .tooLate) }
    }

    @Test func sequenceWrapIsContinuous() {
        let buffer = Self.started(at: 65534)
        #expect(Self.push(buffer, 0, now: 100).isEmpty)
        #expect(Self.push(buffer, 65535, now: 100).map(\.0) == [65535, 0])
        #expect(Self.push(buffer, 1, now: 100).map(\.0) == [1])
    }

    @Test func jumpBeyondCapacitySkipsAheadAndReportsTheLoss() {
        let buffer = Self.started(at: 100, capacity: 8, latency: 1_000)
        _ = Self.push(buffer, 102, now: 1_000)  // held behind the gap at 101
        let out = Self.push(buffer, 200, now: 1_001)
        #expect(out.isEmpty, "200 waits for 193...199 within the latency budget")
        let later = Self.drain(buffer, now: 3_000)
        #expect(later.map(\.0) == [200])
        #expect(later.first?.1 == 99, "101...199 lost, including the discarded 102")
    }

    @Test func flushDeliversEverythingBuffered() {
        let buffer = Self.started(at: 1, latency: 1_000_000)
        _ = Self.push(buffer, 5, now: 1_000_000)
        _ = Self.push(buffer, 3, now: 1_000_000)
        var out: [(UInt16, Int)] = []
        buffer.flush { bytes, lost in out.append((UInt16(bytes[2]) << 8 | UInt16(bytes[3]), lost)) }
        #expect(out.map(\.0) == [3, 5] && out.map(\.1) == [1, 1])
    }
}
