import Media
import Testing
@testable import SFU

/// RFC 3550's interarrival jitter as `ReceptionStatistics` estimates it (A.8), against figures
/// worked out by hand: steady arrivals give 0, arrivals alternating 10 ms late give 10 ms.
@Suite struct ReceptionJitterTests {
    static let frame: UInt64 = 1_000_000_000 / 30  // ns between frames at 30 fps
    static let ticks: UInt32 = 3000  // the same at 90 kHz

    @Test func steadyArrivalsHaveNoJitter() {
        var stats = ReceptionStatistics()
        for i in 0..<100 {
            _ = stats.receive(sequenceNumber: UInt16(i))
            stats.receiveTimestamp(UInt32(i) * Self.ticks, now: 5_000_000_000 + UInt64(i) * Self.frame, clockRate: 90000)
        }
        // The nanosecond clock and the 90 kHz one round differently by at most a tick.
        #expect(stats.jitter <= 1)
    }

    @Test func arrivalsAlternatingTenMillisecondsLateConvergeToTenMilliseconds() {
        var stats = ReceptionStatistics()
        for i in 0..<300 {
            _ = stats.receive(sequenceNumber: UInt16(i))
            let late: UInt64 = i % 2 == 1 ? 10_000_000 : 0
            stats.receiveTimestamp(1000 + UInt32(i) * Self.ticks, now: 7_000_000_000 + UInt64(i) * Self.frame + late,
                                   clockRate: 90000)
        }
        // |D| is 900 ticks (10 ms) every packet: J -> 900.
        #expect(abs(Int(stats.jitter) - 900) <= 10)
        #expect(stats.reportBlock(ssrc: 1, now: 0).jitter == stats.jitter)
    }

    @Test func packetsOfOneFrameAreMeasuredOnce() {
        var stats = ReceptionStatistics()
        var seq: UInt16 = 0
        for i in 0..<100 {
            // Five packets per frame, sent in a burst 1 ms apart: only the first is measured, so
            // the burst's spread is not mistaken for network jitter.
            for part in 0..<5 {
                _ = stats.receive(sequenceNumber: seq)
                seq &+= 1
                stats.receiveTimestamp(UInt32(i) * Self.ticks, now: 1_000_000_000 + UInt64(i) * Self.frame + UInt64(part) * 1_000_000,
                                       clockRate: 90000)
            }
        }
        #expect(stats.jitter <= 1)
    }

    @Test func timestampsWrapWithoutAJump() {
        var stats = ReceptionStatistics()
        let start = UInt32.max - 50 * Self.ticks
        for i in 0..<100 {
            _ = stats.receive(sequenceNumber: UInt16(i))
            stats.receiveTimestamp(start &+ UInt32(i) * Self.ticks, now: 3_000_000_000 + UInt64(i) * Self.frame, clockRate: 90000)
        }
        #expect(stats.jitter <= 1)
    }

    @Test func aPublishedTracksJitterIsItsWorstLayerInMilliseconds() {
        let f = RTCPRoomFixture()
        // The fixture's frames are 3000 ticks (33.33 ms) apart in RTP time but 33.0 ms on the
        // clock: each arrival is 30 ticks early against the previous one, so J -> 30 ticks.
        for _ in 0..<300 {
            f.publish()
            f.nextFrame()
        }
        #expect(abs(f.track.jitterMs - 30.0 / 90) < 0.01)
    }

    @Test func theSubscribersReportedJitterIsKeptOnItsDownTrack() {
        let f = RTCPRoomFixture()
        f.receive([.receiverReport(RTCPReceiverReport(ssrc: 1, reportBlocks: [
            RTCPReportBlock(ssrc: RTCPRoomFixture.downSSRC, fractionLost: 0, jitter: 900),
            RTCPReportBlock(ssrc: 0x7777, jitter: 5),  // not ours: ignored
        ]))])
        #expect(f.downTrack.receiverJitter == 900)
        #expect(abs(f.downTrack.receiverJitterMs - 10) < 0.001)
    }
}
