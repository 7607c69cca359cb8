import SFU

/// Taps one published track for one recording: the SFU hands a sink every layer's packets, and
/// a file holds one video stream, so the sink keeps only `layer` (the recording picks the
/// highest simulcast layer: the best picture the publisher sends) and drops the rest.
///
/// Runs on the room's media worker, inside the packet path: it only copies the packet into the
/// writer's ring — no allocation, no I/O.
final class EgressTrackSink: TrackPacketSink {
    /// The track's index in the recording's `FileRecorder`.
    let index: Int
    let layer: Int
    let writer: EgressWriterThread

    init(index: Int, layer: Int, writer: EgressWriterThread) {
        self.index = index
        self.layer = layer
        self.writer = writer
    }

    func receive(_ packet: UnsafeRawBufferPointer, layer: Int, now: UInt64) {
        guard layer == self.layer else { return }
        writer.push(packet, track: index, arrival: now)
    }

    func receiveSenderReport(ntp: UInt64, rtpTimestamp: UInt32, layer: Int) {
        guard layer == self.layer else { return }
        writer.pushSenderReport(track: index, ntp: ntp, rtpTimestamp: rtpTimestamp)
    }
}
