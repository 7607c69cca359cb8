import Synchronization

/// The sending end of a relay: attached to a published track as a sink on the track's worker,
/// it copies every packet (and sender report) into a ring that a `RelayedTrack` on another
/// worker drains; keyframe requests from that side come back through `keyframeRequests` and are
/// served here, on the track's worker, by `serviceKeyframeRequests`.
///
/// The seam for serving one track from several workers (or, with a network ring, nodes): the
/// publisher's track stays where its transport is, and each worker gets a copy of its packets.
public final class RelaySource: TrackPacketSink, @unchecked Sendable {
    public let ring: PacketRing
    /// One bit per layer the far side wants a keyframe of; set there, taken here.
    public let keyframeRequests = Atomic<UInt32>(0)
    /// Wakes the far side to drain (one job per burst, see `RelayWake`).
    private let pendingWake: RelayWake
    /// The highest layer the far side's viewers want (dynacast across workers): set there,
    /// applied here. `Self.unchanged` when nothing new; -1 for none.
    private let wantedLayer = Atomic<Int>(RelaySource.unchanged)
    private static let unchanged = Int.min

    public init(ring: PacketRing = PacketRing(), wake: RelayWake) {
        self.ring = ring
        self.pendingWake = wake
    }

    public func receive(_ packet: UnsafeRawBufferPointer, layer: Int, now: UInt64) {
        if ring.push(packet, layer: layer, arrival: now) { pendingWake.signal() }
    }

    public func receiveSenderReport(ntp: UInt64, rtpTimestamp: UInt32, layer: Int) {
        if ring.pushSenderReport(ntp: ntp, rtpTimestamp: rtpTimestamp, layer: layer) { pendingWake.signal() }
    }

    /// The far side: its viewers now want up to `layer` (nil: none).
    public func requestLayer(_ layer: Int?) {
        wantedLayer.store(layer ?? -1, ordering: .releasing)
    }

    /// The track's side: the layer the far side asked for since the last call, if it asked
    /// (`.some(nil)`: none).
    public func takeLayerRequest() -> Int?? {
        let value = wantedLayer.exchange(Self.unchanged, ordering: .acquiringAndReleasing)
        if value == Self.unchanged { return .none }
        return .some(value < 0 ? nil : value)
    }

    /// Asks `track`'s publisher for the keyframes the far side wanted since the last call
    /// (throttled per layer like any subscriber's request). Run it on the track's worker.
    public func serviceKeyframeRequests(of track: PublishedTrack, now: UInt64) {
        let wanted = keyframeRequests.exchange(0, ordering: .acquiringAndReleasing)
        guard wanted != 0 else { return }
        for layer in 0..<min(track.layerCount, 32) where wanted & (1 << UInt32(layer)) != 0 {
            track.requestKeyframe(layer: layer, now: now)
        }
    }
}

/// A wake-up from one worker to another that costs one scheduled job per burst, not per packet:
/// `signal` schedules only when no wake-up is pending, and the woken side calls `begin` before
/// it drains, so anything pushed after that schedules the next one.
public final class RelayWake: @unchecked Sendable {
    private let pending = Atomic<Bool>(false)
    private let schedule: @Sendable () -> Void

    /// `schedule` runs the far side's drain on its worker (e.g. `worker.execute(drain)` with a
    /// closure made once).
    public init(schedule: @escaping @Sendable () -> Void) {
        self.schedule = schedule
    }

    @inline(__always)
    public func signal() {
        if !pending.exchange(true, ordering: .acquiringAndReleasing) { schedule() }
    }

    /// The woken side starts draining: later signals wake it again.
    @inline(__always)
    public func begin() {
        pending.store(false, ordering: .releasing)
    }
}
