import EdgeLink
import SFU
import WebRTC

/// The origin node's end of one edge's link for one room: answers the edge's `subscribe` with
/// the track's shape and a sink on the track, applies its wanted layers to that sink (so the
/// publisher's dynacast counts the edge as one subscriber wanting the highest layer any of its
/// viewers wants) and turns its keyframe requests into throttled PLIs to the publisher.
/// Control arrives on the link's thread and is handled on the room's worker.
public final class EdgeOriginLink: @unchecked Sendable {
    public let endpoint: EdgeLinkEndpoint
    public let edgeNode: String
    private let room: SFU.Room
    private let worker: MediaWorker
    private let onWantedLayersChanged: (@Sendable (PublishedTrack) -> Void)?
    /// On the worker: subscription id -> its sink and track.
    private var sinks: [UInt16: (sink: EdgeTrackSink, track: PublishedTrack)] = [:]

    public init(endpoint: EdgeLinkEndpoint, edgeNode: String, room: SFU.Room, worker: MediaWorker,
                onWantedLayersChanged: (@Sendable (PublishedTrack) -> Void)? = nil) {
        self.endpoint = endpoint
        self.edgeNode = edgeNode
        self.room = room
        self.worker = worker
        self.onWantedLayersChanged = onWantedLayersChanged
    }

    public func start() {
        endpoint.start(onMedia: { _, _, _ in }, onControl: { [self] message in
            worker.execute { self.handle(message) }
        })
    }

    /// Detaches every sink and stops the link.
    public func close() async {
        endpoint.close()
        _ = try? await worker.run { [self] in
            for (_, entry) in sinks { room.detach(entry.sink, from: entry.track) }
            sinks.removeAll()
        }
    }

    /// Subscriptions the edge holds now (read on the worker).
    public func subscriptionCount() async -> Int {
        (try? await worker.run { [self] in sinks.count }) ?? 0
    }

    /// Per subscribed track (for /admin/edge): packets per layer sent to this edge, and
    /// packets per layer the track received from its publisher here (what a node that got
    /// each layer once cannot exceed).
    public func sentCounters() async -> [(track: String, sent: [UInt8: UInt64], published: [UInt8: UInt64])] {
        let subscribed = (try? await worker.run { [self] in
            sinks.map { id, entry in
                (id, entry.track.id, Dictionary(uniqueKeysWithValues: entry.track.reception.enumerated().map {
                    (UInt8(clamping: $0.offset), UInt64($0.element.received))
                }))
            }
        }) ?? []
        return subscribed.map { (track: $0.1, sent: endpoint.sent.perLayer(subscription: $0.0), published: $0.2) }
            .sorted { $0.track < $1.track }
    }

    private func handle(_ message: EdgeLinkControl) {
        switch message {
        case .subscribe(let id, let trackID):
            // A refresh repeats the subscribe: answer again (the first answer may have been lost).
            if let existing = sinks[id], existing.track.id == trackID {
                endpoint.sendControl(.subscribed(subscription: id, shape: Self.shape(of: existing.track)))
                return
            }
            if let stale = sinks.removeValue(forKey: id) { room.detach(stale.sink, from: stale.track) }
            let track = room.participants.lazy.flatMap(\.publishedTracks).first { $0.id == trackID }
            guard let track else {
                endpoint.sendControl(.trackGone(subscription: id))
                return
            }
            let sink = EdgeTrackSink(subscription: id, endpoint: endpoint)
            sinks[id] = (sink, track)
            endpoint.sendControl(.subscribed(subscription: id, shape: Self.shape(of: track)))
            // Attaching asks for a keyframe of the top layer at once: the edge's viewers start.
            room.attach(sink, to: track, layer: track.layerCount - 1)
            onWantedLayersChanged?(track)
        case .unsubscribe(let id):
            guard let entry = sinks.removeValue(forKey: id) else { return }
            room.detach(entry.sink, from: entry.track)
            onWantedLayersChanged?(entry.track)
        case .wantLayers(let id, let highest):
            guard let entry = sinks[id] else { return }
            let layer = highest.map(Int.init)
            guard entry.sink.wantedLayer != (layer ?? -1) else { return }
            entry.sink.wantedLayer = layer ?? -1
            room.setWantedLayer(layer, of: entry.sink, on: entry.track)
            onWantedLayersChanged?(entry.track)
        case .keyframe(let id, let layer):
            guard let entry = sinks[id] else { return }
            entry.track.requestKeyframe(layer: Int(layer), now: room.clock())
        case .subscribed, .trackGone, .senderReport:
            break  // the origin's own messages; an edge never sends them
        }
    }

    static func shape(of track: PublishedTrack) -> EdgeLinkTrackShape {
        EdgeLinkTrackShape(
            isVideo: track.kind == .video, codecName: track.codec.name, payloadType: track.codec.payloadType,
            clockRate: track.codec.clockRate, channels: UInt8(clamping: track.codec.channels ?? 0),
            fmtp: track.codec.parameters, ssrc: track.ssrc ?? 0,
            audioLevelExtensionID: track.audioLevelExtensionID ?? 0,
            layers: track.layers.map { (UInt16(clamping: $0.width), UInt16(clamping: $0.height)) })
    }
}
