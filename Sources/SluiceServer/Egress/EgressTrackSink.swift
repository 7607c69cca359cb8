import SFU

/// Taps one published track for one recording: the SFU hands a sink every layer's packets, and
/// a file holds one video stream, so the sink keeps one layer and drops the rest. It starts with
/// the highest simulcast layer (the best picture the publisher sends); when that layer never
/// arrives (a publisher whose uplink or encoder keeps its top layer off) it settles, once, on
/// the highest layer that does, so the recording has video instead of waiting for a layer that
/// will not come. It never changes layer once it has recorded any: a file keeps one picture size.
///
/// Runs on the room's media worker, inside the packet path: it only copies the packet into the
/// writer's ring — no allocation, no I/O.
final class EgressTrackSink: TrackPacketSink {
    /// The track's index in the recording's `FileRecorder`.
    let index: Int
    /// The layer being recorded.
    private(set) var layer: Int
    let writer: EgressWriterThread
    /// Told (on the worker, after the packet) when the sink settled on a lower layer.
    var onFallback: ((_ from: Int, _ to: Int) -> Void)?

    /// How long the chosen layer may stay silent while a lower one flows before the sink gives
    /// up on it: past libwebrtc's layer ramp-up after a (re)start, short next to a recording.
    static let fallbackAfter: UInt64 = 3_000_000_000
    /// A layer counts as flowing when a packet of it arrived this recently.
    static let flowing: UInt64 = 1_000_000_000

    private var firstArrival: UInt64?
    /// Last arrival per layer, 0 for never (made once, sized for the SFU's 8 layers at most).
    private var lastArrival = [UInt64](repeating: 0, count: 8)
    private var recorded = false

    init(index: Int, layer: Int, writer: EgressWriterThread) {
        self.index = index
        self.layer = layer
        self.writer = writer
    }

    func receive(_ packet: UnsafeRawBufferPointer, layer arrived: Int, now: UInt64) {
        if arrived >= 0, arrived < lastArrival.count { lastArrival[arrived] = now }
        let first = firstArrival ?? now
        firstArrival = first
        if arrived != layer {
            guard !recorded, arrived < layer, lastArrival[layer] == 0, now &- first > Self.fallbackAfter else { return }
            let from = layer
            layer = highestFlowing(below: from, now: now) ?? arrived
            onFallback?(from, layer)
            guard arrived == layer else { return }
        }
        recorded = true
        writer.push(packet, track: index, arrival: now)
    }

    func receiveSenderReport(ntp: UInt64, rtpTimestamp: UInt32, layer: Int) {
        guard layer == self.layer else { return }
        writer.pushSenderReport(track: index, ntp: ntp, rtpTimestamp: rtpTimestamp)
    }

    private func highestFlowing(below top: Int, now: UInt64) -> Int? {
        var candidate = min(top, lastArrival.count) - 1
        while candidate >= 0 {
            if lastArrival[candidate] != 0, now &- lastArrival[candidate] <= Self.flowing { return candidate }
            candidate -= 1
        }
        return nil
    }
}
