import EdgeLink
import Foundation
import SFU
import Synchronization
import WebRTC

/// The edge node's end of its link to a room's origin: each track its local viewers need is
/// subscribed once, whatever their number, and published into the edge's room as a mirror (same
/// id, SSRC, codec and layers) that local viewers subscribe to like any track. Packets go from
/// the link's thread into a `RelaySource` ring (one copy) and are drained on the room's worker
/// into the mirror, the way a same-process `TrackRelay` does; the mirror's viewers' wanted layers
/// and keyframe requests leave as control messages, coalesced by the relay's wake-up.
public final class EdgeMirrorLink: @unchecked Sendable {
    public let endpoint: EdgeLinkEndpoint
    private let room: SFU.Room
    private let worker: MediaWorker
    private let publisher: SFU.Participant
    private let feedback: RelayFeedbackTransport

    /// One subscribed track's two halves: `source` is written by the link's thread (its ring's
    /// only producer), `relayed` lives on the worker.
    final class Mirror: @unchecked Sendable {
        let id: UInt16
        let source: RelaySource
        var relayed: RelayedTrack?
        /// Who publishes the mirror on the edge (the stand-in for the track's publisher) and
        /// where its viewers' feedback goes; set by `mirror`.
        var publisher: SFU.Participant?
        var feedback: RelayFeedbackTransport?
        init(id: UInt16, source: RelaySource) {
            self.id = id
            self.source = source
        }
    }

    private let state = Mutex(State())
    struct State {
        var subscriptions = EdgeLinkSubscriptions()
        var mirrors: [UInt16: Mirror] = [:]
        var shapes: [UInt16: EdgeLinkTrackShape] = [:]
        var gone: Set<UInt16> = []
    }

    public enum MirrorError: Error, Equatable {
        case noAnswer(String)
        case trackGone(String)
    }

    public init(endpoint: EdgeLinkEndpoint, room: SFU.Room, worker: MediaWorker, publisher: SFU.Participant,
                feedback: RelayFeedbackTransport) {
        self.endpoint = endpoint
        self.room = room
        self.worker = worker
        self.publisher = publisher
        self.feedback = feedback
    }

    public func start() {
        endpoint.start(onMedia: { [self] id, layer, packet in
            guard let mirror = state.withLock({ $0.mirrors[id] }) else { return }
            mirror.source.receive(packet, layer: Int(layer), now: SystemClock.monotonic())
        }, onControl: { [self] message in
            switch message {
            case .subscribed(let id, let shape): state.withLock { $0.shapes[id] = shape; return }
            case .trackGone(let id): state.withLock { _ = $0.gone.insert(id) }
            case .senderReport(let id, let layer, let ntp, let rtpTimestamp):
                state.withLock { $0.mirrors[id] }?.source.receiveSenderReport(
                    ntp: ntp, rtpTimestamp: rtpTimestamp, layer: Int(layer))
            case .subscribe, .unsubscribe, .wantLayers, .keyframe:
                break  // an origin never sends them
            }
        })
    }

    /// Restates every subscription and wanted layer (run on a timer: the link is UDP).
    public func refresh() {
        for message in state.withLock({ $0.subscriptions.refreshMessages() }) { endpoint.sendControl(message) }
    }

    /// Subscribes to `trackID` at the origin (once: a second call returns the same mirror) and
    /// publishes its mirror into the edge's room, as `publisher`'s track (the link's own
    /// publisher when nil: an edge room's stand-in for the track's real publisher, otherwise).
    /// The subscribe is repeated until the origin answers, so a lost datagram costs one retry
    /// interval.
    public func mirror(_ trackID: String, publisher: SFU.Participant? = nil, feedback: RelayFeedbackTransport? = nil,
                       timeout: Duration = .seconds(5)) async throws -> RelayedTrack {
        let (id, message, mirror) = state.withLock { state -> (UInt16, EdgeLinkControl?, Mirror) in
            let (id, message) = state.subscriptions.subscribe(trackID)
            if let existing = state.mirrors[id] { return (id, message, existing) }
            let mirror = Mirror(id: id, source: RelaySource(ring: PacketRing(capacity: 1024), wake: makeDrainWake(id)))
            state.mirrors[id] = mirror
            return (id, message, mirror)
        }
        if let relayed = try await worker.run({ mirror.relayed }) { return relayed }
        let deadline = ContinuousClock.now + timeout
        var shape: EdgeLinkTrackShape?
        while shape == nil {
            if state.withLock({ $0.gone.contains(id) }) { throw MirrorError.trackGone(trackID) }
            guard ContinuousClock.now < deadline else { throw MirrorError.noAnswer(trackID) }
            endpoint.sendControl(message ?? .subscribe(subscription: id, track: trackID))
            for _ in 0..<25 where shape == nil {
                try await Task.sleep(for: .milliseconds(10))
                shape = state.withLock { $0.shapes[id] }
            }
        }
        let answered = shape!
        if !answered.isVideo {
            // Audio has one layer and no dynacast: the edge wants it while it mirrors it (a
            // refresh restating "no layer wanted" would otherwise stop it at the origin).
            if let message = state.withLock({ $0.subscriptions.want(id, highest: 0) }) { endpoint.sendControl(message) }
        }
        let toOrigin = makeFeedbackWake(mirror)
        nonisolated(unsafe) let member = publisher ?? self.publisher
        let room = self.room, feedback = feedback ?? self.feedback
        return try await worker.run {
            if let relayed = mirror.relayed { return relayed }
            mirror.publisher = member
            mirror.feedback = feedback
            room.join(member)
            let track = room.publish(member, kind: answered.isVideo ? .video : .audio,
                                     codec: TrackCodec(name: answered.codecName, payloadType: answered.payloadType,
                                                       clockRate: answered.clockRate,
                                                       channels: answered.channels == 0 ? nil : Int(answered.channels),
                                                       parameters: answered.fmtp),
                                     ssrc: answered.ssrc,
                                     layers: answered.layers.isEmpty ? [LayerSelector.Layer()] : answered.layers.map {
                                         LayerSelector.Layer(width: Int($0.width), height: Int($0.height))
                                     },
                                     id: trackID)
            track.defersFanOut = true
            if answered.audioLevelExtensionID != 0 { track.audioLevelExtensionID = answered.audioLevelExtensionID }
            let relayed = RelayedTrack(source: mirror.source, mirror: track, sourceWake: toOrigin)
            feedback.add(relayed)
            mirror.relayed = relayed
            return relayed
        }
    }

    /// Ends a mirror: its viewers see the track end, and the origin stops sending it.
    public func unmirror(_ trackID: String) async {
        let removed = state.withLock { state -> (EdgeLinkControl?, Mirror?) in
            guard let id = state.subscriptions.entries.first(where: { $0.value.track == trackID })?.key else {
                return (nil, nil)
            }
            state.shapes[id] = nil
            return (state.subscriptions.unsubscribe(id), state.mirrors.removeValue(forKey: id))
        }
        if let message = removed.0 { endpoint.sendControl(message) }
        guard let mirror = removed.1 else { return }
        nonisolated(unsafe) let fallback = publisher
        let room = self.room, fallbackFeedback = self.feedback
        _ = try? await worker.run {
            guard let relayed = mirror.relayed else { return }
            let member = mirror.publisher ?? fallback
            (mirror.feedback ?? fallbackFeedback).remove(relayed)
            nonisolated(unsafe) let track = relayed.mirror
            room.unpublish(member, track: track)
            mirror.relayed = nil
        }
    }

    public func close() { endpoint.close() }

    /// What one mirrored track cost the link and gave the node's viewers (for /admin/edge).
    public struct TrackCounters: Sendable, Encodable {
        public var track: String
        /// Packets per layer (by layer index) that arrived over the link: each layer once per
        /// node, whatever the number of viewers here.
        public var receivedPerLayer: [String: UInt64]
        /// Viewers on this node receiving the mirror, and the packets sent to them in all.
        public var viewers: Int
        public var forwardedLocally: UInt64
    }

    /// Every mirrored track's counters (one hop onto the room's worker).
    public func counters() async -> [TrackCounters] {
        let entries = state.withLock { state in
            state.subscriptions.entries.compactMap { id, entry in state.mirrors[id].map { (id, entry.track, $0) } }
        }
        var result: [TrackCounters] = []
        for (id, track, mirror) in entries {
            let received = endpoint.received.perLayer(subscription: id)
            let local = (try? await worker.run { () -> (Int, UInt64) in
                guard let downTracks = mirror.relayed?.mirror.downTracks else { return (0, 0) }
                return (downTracks.count, downTracks.reduce(0) { $0 + UInt64($1.packetsSent) })
            }) ?? (0, 0)
            result.append(TrackCounters(track: track,
                                        receivedPerLayer: Dictionary(uniqueKeysWithValues: received.map { ("\($0.key)", $0.value) }),
                                        viewers: local.0, forwardedLocally: local.1))
        }
        return result.sorted { $0.track < $1.track }
    }

    /// Drains a mirror's ring on the worker, one job per burst.
    private func makeDrainWake(_ id: UInt16) -> RelayWake {
        final class Box: @unchecked Sendable { weak var wake: RelayWake? }
        let box = Box()
        let drain: @Sendable () -> Void = { [weak self] in
            box.wake?.begin()
            guard let mirror = self?.state.withLock({ $0.mirrors[id] }) else { return }
            mirror.relayed?.drain(now: SystemClock.monotonic())
        }
        let worker = self.worker
        let wake = RelayWake { [unowned worker] in worker.execute(drain) }
        box.wake = wake
        return wake
    }

    /// What the mirror's viewers ask of the origin leaves as control messages. Called on the
    /// worker (where the mirror's DownTracks ask), so the messages go out from there.
    private func makeFeedbackWake(_ mirror: Mirror) -> RelayWake {
        final class Box: @unchecked Sendable { weak var wake: RelayWake? }
        let box = Box()
        let wake = RelayWake { [weak self] in
            box.wake?.begin()
            guard let self else { return }
            let source = mirror.source
            if case .some(let layer) = source.takeLayerRequest() {
                let highest = layer.map { UInt8(clamping: $0) }
                if let message = state.withLock({ $0.subscriptions.want(mirror.id, highest: highest) }) {
                    endpoint.sendControl(message)
                }
            }
            let wanted = source.keyframeRequests.exchange(0, ordering: .acquiringAndReleasing)
            for layer in 0..<32 where wanted & (1 << UInt32(layer)) != 0 {
                endpoint.sendControl(.keyframe(subscription: mirror.id, layer: UInt8(layer)))
            }
        }
        box.wake = wake
        return wake
    }
}
