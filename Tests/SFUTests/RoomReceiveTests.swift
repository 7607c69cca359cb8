import Media
import Testing
@testable import SFU
#if canImport(Glibc)
import Glibc
#endif

/// An executor owned by the thread that creates it, called synchronously as a media worker's
/// callbacks call their room; nothing may be enqueued.
final class ThreadBoundExecutor: SerialExecutor, @unchecked Sendable {
    private let thread = pthread_self()
    func enqueue(_ job: consuming ExecutorJob) { fatalError("entered synchronously only") }
    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
    func checkIsolated() { precondition(pthread_equal(pthread_self(), thread) != 0) }
    func isIsolatingCurrentContext() -> Bool? { pthread_equal(pthread_self(), thread) != 0 }
}

@Suite struct RoomReceiveTests {
    @Test func receiveOnExecutorFansOut() {
        let room = Room(name: "r", executor: ThreadBoundExecutor(), clock: { 0 })
        let publisherTransport = RecordingTransport(), subscriberTransport = RecordingTransport()
        let publisher = Participant(identity: "pub", transport: publisherTransport)
        let subscriber = Participant(identity: "sub", transport: subscriberTransport)
        let opus = TrackCodec(name: "opus", payloadType: 111, clockRate: 48000, channels: 2)
        room.join(publisher)
        room.join(subscriber)
        let track = room.publish(publisher, kind: .audio, codec: opus, ssrc: 0xAAAA)
        room.subscribe(subscriber, to: track, ssrc: 0xBBBB, payloadType: 109, active: true)
        var packet = rtp(seq: 7, pt: 111, payload: [1, 2, 3])
        let original = packet
        packet.withUnsafeMutableBytes { room.receiveRTP($0, track: track) }
        #expect(packet == original, "the receive buffer is restored")
        #expect(subscriberTransport.rtp.count == 1)
        subscriberTransport.rtp[0].withUnsafeBytes { raw in
            let sent = try! RTPPacket(raw)
            #expect(sent.ssrc == 0xBBBB && sent.payloadType == 109 && Array(sent.payload) == [1, 2, 3])
        }
    }
}
