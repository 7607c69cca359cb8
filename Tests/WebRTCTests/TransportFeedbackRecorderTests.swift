import Media
import Testing
@testable import WebRTC

@Suite struct TransportFeedbackRecorderTests {
    func parse(_ bytes: [UInt8]) throws -> TransportCCFeedback {
        let packets = try RTCPPacket.parseCompound(bytes)
        guard case .transportCC(let feedback) = packets.first else {
            Issue.record("not transport-cc feedback: \(packets)")
            throw TimeoutError(what: "feedback")
        }
        return feedback
    }

    @Test func reportsArrivalsAndLossesAcrossTheWrapOnce() throws {
        var recorder = TransportFeedbackRecorder()
        #expect(recorder.feedback(senderSSRC: 1, mediaSSRC: 2) == nil)
        recorder.record(sequenceNumber: 65534, arrivalMicroseconds: 1_000_000)
        recorder.record(sequenceNumber: 65535, arrivalMicroseconds: 1_001_000)
        recorder.record(sequenceNumber: 1, arrivalMicroseconds: 1_003_000)  // 0 lost
        recorder.record(sequenceNumber: 65535, arrivalMicroseconds: 1_004_000)  // duplicate: already recorded
        let firstBytes = recorder.feedback(senderSSRC: 1, mediaSSRC: 2)
        let first = try parse(try #require(firstBytes))
        #expect(first.baseSequenceNumber == 65534 && first.feedbackPacketCount == 0)
        let times = first.arrivalTimesMicroseconds
        #expect(times.count == 4 && times[2] == nil)
        #expect(times[1]! - times[0]! == 1000 && times[3]! - times[1]! == 2000)
        #expect(recorder.feedback(senderSSRC: 1, mediaSSRC: 2) == nil, "nothing new")
        recorder.record(sequenceNumber: 0, arrivalMicroseconds: 1_005_000)  // late: already reported lost
        recorder.record(sequenceNumber: 2, arrivalMicroseconds: 1_006_000)
        let secondBytes = recorder.feedback(senderSSRC: 1, mediaSSRC: 2)
        let second = try parse(try #require(secondBytes))
        #expect(second.baseSequenceNumber == 2 && second.receiveDeltas.count == 1 && second.feedbackPacketCount == 1)
    }
}
