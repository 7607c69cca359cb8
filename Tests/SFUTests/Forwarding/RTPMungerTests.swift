import Testing
@testable import SFU

/// Table tests for the sequence/timestamp munger: each row is an incoming packet
/// (seq, ts, padding) and what must come out.
@Suite struct RTPMungerTests {
    typealias Out = RTPMunger.Result
    struct Row {
        var seq: UInt16
        var ts: UInt32
        var padding = false
        var expect: Out
    }

    static func fwd(_ seq: UInt16, _ ts: UInt32) -> Out { .forward(sequenceNumber: seq, timestamp: ts) }

    /// Anchors at the first row, maps the rest.
    func run(_ rows: [Row], _ munger: RTPMunger = RTPMunger(), anchorTimestamp: Int64? = nil,
             sourceLocation: SourceLocation = #_sourceLocation) {
        var munger = munger
        for (i, row) in rows.enumerated() {
            let got = i == 0
                ? munger.anchor(sequenceNumber: row.seq, timestamp: row.ts, outgoingTimestamp: anchorTimestamp, arrival: 0)
                : munger.map(sequenceNumber: row.seq, timestamp: row.ts, paddingOnly: row.padding, arrival: Int64(i))
            #expect(got == row.expect, "row \(i): in seq \(row.seq)", sourceLocation: sourceLocation)
        }
    }

    @Test func inOrderIsIdentityForTheFirstStream() {
        run([
            Row(seq: 100, ts: 9000, expect: Self.fwd(100, 9000)),
            Row(seq: 101, ts: 9000, expect: Self.fwd(101, 9000)),
            Row(seq: 102, ts: 12000, expect: Self.fwd(102, 12000)),
        ])
    }

    @Test func initialValuesOffsetTheStream() {
        run([
            Row(seq: 100, ts: 9000, expect: Self.fwd(5000, 1)),
            Row(seq: 101, ts: 12000, expect: Self.fwd(5001, 3001)),
        ], RTPMunger(initialSequenceNumber: 5000, initialTimestamp: 1))
    }

    @Test func lossKeepsItsGap() {
        run([
            Row(seq: 10, ts: 0, expect: Self.fwd(10, 0)),
            Row(seq: 11, ts: 0, expect: Self.fwd(11, 0)),
            Row(seq: 14, ts: 3000, expect: Self.fwd(14, 3000)),  // 12, 13 lost: receiver NACKs them
            Row(seq: 12, ts: 0, expect: Self.fwd(12, 0)),        // retransmitted late: fills the gap
        ])
    }

    @Test func reorderMapsConsistently() {
        run([
            Row(seq: 1, ts: 100, expect: Self.fwd(1, 100)),
            Row(seq: 3, ts: 100, expect: Self.fwd(3, 100)),
            Row(seq: 2, ts: 100, expect: Self.fwd(2, 100)),
            Row(seq: 5, ts: 3100, expect: Self.fwd(5, 3100)),
            Row(seq: 4, ts: 100, expect: Self.fwd(4, 100)),
            Row(seq: 4, ts: 100, expect: Self.fwd(4, 100)),      // duplicate: same mapping
        ])
    }

    @Test func sequenceWrap() {
        run([
            Row(seq: 65533, ts: 0, expect: Self.fwd(65533, 0)),
            Row(seq: 65535, ts: 0, expect: Self.fwd(65535, 0)),
            Row(seq: 1, ts: 3000, expect: Self.fwd(1, 3000)),
            Row(seq: 0, ts: 3000, expect: Self.fwd(0, 3000)),   // late across the wrap
            Row(seq: 65534, ts: 0, expect: Self.fwd(65534, 0)),
            Row(seq: 2, ts: 3000, expect: Self.fwd(2, 3000)),
        ])
    }

    @Test func sequenceWrapWithOffset() {
        // Outgoing starts at 65534, incoming at 10: the outgoing side wraps on its own.
        run([
            Row(seq: 10, ts: 0, expect: Self.fwd(65534, 0)),
            Row(seq: 11, ts: 0, expect: Self.fwd(65535, 0)),
            Row(seq: 12, ts: 0, expect: Self.fwd(0, 0)),
            Row(seq: 13, ts: 0, expect: Self.fwd(1, 0)),
        ], RTPMunger(initialSequenceNumber: 65534, initialTimestamp: 0))
    }

    @Test func timestampWrap() {
        run([
            Row(seq: 1, ts: 0xFFFF_E000, expect: Self.fwd(1, 0xFFFF_E000)),
            Row(seq: 2, ts: 0xFFFF_F000, expect: Self.fwd(2, 0xFFFF_F000)),
            Row(seq: 3, ts: 0x0000_0000, expect: Self.fwd(3, 0)),
            Row(seq: 4, ts: 0x0000_1000, expect: Self.fwd(4, 0x1000)),
        ])
        // Outgoing wrap from an offset.
        run([
            Row(seq: 1, ts: 1000, expect: Self.fwd(1, 0xFFFF_FF00)),
            Row(seq: 2, ts: 1256, expect: Self.fwd(2, 0)),
            Row(seq: 3, ts: 4256, expect: Self.fwd(3, 3000)),
        ], RTPMunger(initialTimestamp: 0xFFFF_FF00))
    }

    @Test func paddingIsSkippedWithoutAGap() {
        run([
            Row(seq: 10, ts: 0, expect: Self.fwd(10, 0)),
            Row(seq: 11, ts: 0, padding: true, expect: .drop(.skipped)),
            Row(seq: 12, ts: 0, padding: true, expect: .drop(.skipped)),
            Row(seq: 13, ts: 3000, expect: Self.fwd(11, 3000)),
            Row(seq: 11, ts: 0, padding: true, expect: .drop(.skipped)),  // duplicate of a skipped one
            Row(seq: 15, ts: 3000, expect: Self.fwd(13, 3000)),           // 14 lost: gap kept
            Row(seq: 14, ts: 3000, expect: Self.fwd(12, 3000)),           // ...and filled late
        ])
    }

    @Test func lateMediaBeforeASkipKeepsItsNumber() {
        run([
            Row(seq: 10, ts: 0, expect: Self.fwd(10, 0)),
            Row(seq: 12, ts: 0, padding: true, expect: .drop(.skipped)),  // 11 still missing
            Row(seq: 13, ts: 3000, expect: Self.fwd(12, 3000)),
            Row(seq: 11, ts: 0, expect: Self.fwd(11, 0)),
        ])
    }

    @Test func latePaddingFillsItsSlot() {
        run([
            Row(seq: 10, ts: 0, expect: Self.fwd(10, 0)),
            Row(seq: 12, ts: 0, expect: Self.fwd(12, 0)),
            Row(seq: 11, ts: 0, padding: true, expect: Self.fwd(11, 0)),  // late: forwarded so no NACK hole
        ])
    }

    @Test func tooOldAndBeforeAnchorAreDropped() {
        var rows = [Row(seq: 1000, ts: 0, expect: Self.fwd(1000, 0))]
        for s in UInt16(1001)...1600 { rows.append(Row(seq: s, ts: 0, expect: Self.fwd(s, 0))) }
        rows.append(Row(seq: 1100, ts: 0, expect: Self.fwd(1100, 0)))  // 500 behind: within 512
        rows.append(Row(seq: 1050, ts: 0, expect: .drop(.tooOld)))      // 550 behind
        rows.append(Row(seq: 999, ts: 0, expect: .drop(.beforeAnchor)))
        run(rows)
    }

    @Test func forgottenSkipsMakeOlderLatePacketsTooOld() {
        var munger = RTPMunger(configuration: .init(maxReorder: 512, skipHistory: 2))
        _ = munger.anchor(sequenceNumber: 0, timestamp: 0, outgoingTimestamp: nil, arrival: 0)
        #expect(munger.map(sequenceNumber: 2, timestamp: 0, paddingOnly: true, arrival: 0) == .drop(.skipped))
        #expect(munger.map(sequenceNumber: 3, timestamp: 0, paddingOnly: true, arrival: 0) == .drop(.skipped))
        #expect(munger.map(sequenceNumber: 4, timestamp: 0, paddingOnly: true, arrival: 0) == .drop(.skipped))
        #expect(munger.map(sequenceNumber: 5, timestamp: 0, arrival: 0) == Self.fwd(2, 0))
        #expect(munger.map(sequenceNumber: 1, timestamp: 0, arrival: 0) == .drop(.tooOld))  // skip of 2 forgotten
    }

    @Test func reanchorContinuesAtLastPlusOne() {
        var munger = RTPMunger()
        #expect(munger.anchor(sequenceNumber: 500, timestamp: 90_000, outgoingTimestamp: nil, arrival: 0) == Self.fwd(500, 90_000))
        #expect(munger.map(sequenceNumber: 501, timestamp: 93_000, arrival: 1) == Self.fwd(501, 93_000))
        // Another stream (layer switch): numbers continue, timestamp as the caller chose.
        #expect(munger.anchor(sequenceNumber: 40_000, timestamp: 7, outgoingTimestamp: 96_000, arrival: 2) == Self.fwd(502, 96_000))
        #expect(munger.map(sequenceNumber: 40_001, timestamp: 7, arrival: 3) == Self.fwd(503, 96_000))
        #expect(munger.map(sequenceNumber: 40_002, timestamp: 3007, arrival: 4) == Self.fwd(504, 99_000))
        #expect(munger.map(sequenceNumber: 39_999, timestamp: 0, arrival: 5) == .drop(.beforeAnchor))
        // A timestamp that would go backwards is raised to highest + 1.
        #expect(munger.anchor(sequenceNumber: 9, timestamp: 0, outgoingTimestamp: 50, arrival: 6) == Self.fwd(505, 99_001))
        munger.unanchor()
        #expect(munger.map(sequenceNumber: 10, timestamp: 0, arrival: 7) == .drop(.notAnchored))
        #expect(munger.highestOutgoingSequence == 505)
    }

    @Test func outgoingTimestampForAnchoredStream() {
        var munger = RTPMunger()
        #expect(munger.outgoingTimestamp(forAnchoredStream: 5) == nil)
        _ = munger.anchor(sequenceNumber: 1, timestamp: 0xFFFF_FF00, outgoingTimestamp: 1000, arrival: 0)
        #expect(munger.outgoingTimestamp(forAnchoredStream: 0x100) == 1512)  // across the wrap
        #expect(munger.lastFrameOutgoingTimestamp == 1000)
        _ = munger.map(sequenceNumber: 2, timestamp: 0x100, arrival: 77)
        #expect(munger.lastFrameOutgoingTimestamp == 1512)
        #expect(munger.lastFrameArrival == 77)
        _ = munger.map(sequenceNumber: 3, timestamp: 0x100, arrival: 99)  // same frame
        #expect(munger.lastFrameArrival == 77)
    }
}
