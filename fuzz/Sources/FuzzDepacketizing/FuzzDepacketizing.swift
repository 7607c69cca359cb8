import Egress
import FuzzSupport
import Media

/// Feeds a stream of RTP packets (see `splitPackets`) through the recording path's front half, as
/// `FileRecorder` does: reorder buffer (arrival times 5 ms apart, so some wait and some are given
/// up) -> depacketizer, with loss reported between packets. Each emitted frame goes to `frame`.
public func depacketize(_ data: UnsafeRawBufferPointer, into depacketizer: some Depacketizer,
                        frame: (EncodedFrame) -> Void) {
    let reorder = RTPReorderBuffer(capacity: 64, maxPacketSize: 1500, maxLatencyNanoseconds: 20_000_000)
    var now: UInt64 = 1_000_000_000
    let deliver: (UnsafeRawBufferPointer, Int) -> Void = { bytes, lost in
        guard let packet = try? RTPPacket(bytes) else { return }
        depacketizer.push(packet, lostBefore: lost) { frame($0) }
        consume(depacketizer.needsKeyframe)
    }
    for (index, packet) in splitPackets(data).enumerated() {
        now += 5_000_000
        // Straight into the depacketizer too, in the order given: it must cope with packets the
        // reorder buffer would have sorted (and with the same packet twice).
        if index % 3 == 0, let rtp = try? RTPPacket(packet) {
            depacketizer.push(rtp, lostBefore: Int(rtp.sequenceNumber % 3)) { frame($0) }
        }
        consume(reorder.insert(packet, arrivalNanoseconds: now))
        reorder.drain(now: now, deliver)
    }
    reorder.flush(deliver)
    depacketizer.reset()
}
