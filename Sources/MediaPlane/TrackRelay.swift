import SFU
import WebRTC

/// Serves a track published in one room to another room on another worker (or, later, node):
/// the original keeps its publisher and stays on its worker; a `RelaySource` sink copies its
/// packets into a ring; the destination worker drains the ring into a mirror track that its own
/// subscribers receive from, and their keyframe requests come back through the ring's side
/// channel. This is the seam that spreads one room's fan-out over several workers.
///
/// Wake-ups cost one scheduled job per burst of packets on each side (`RelayWake`), not one per
/// packet; the packets themselves cross with one copy and no allocation.
public final class TrackRelay: @unchecked Sendable {
    public let relayed: RelayedTrack
    public let sourceWorker: MediaWorker
    public let destinationWorker: MediaWorker
    private let track: PublishedTrack
    private let sourceRoom: SFU.Room
    private let destinationRoom: SFU.Room
    private let publisher: SFU.Participant
    private let feedback: RelayFeedbackTransport

    /// What the wake-up jobs reach, set once the two ends exist. Each field is touched only on
    /// its end's worker.
    private final class Ends: @unchecked Sendable {
        var relayed: RelayedTrack?
        var source: RelaySource?
        var track: PublishedTrack?
        var toDestination: RelayWake?
        var toSource: RelayWake?
        var sourceRoom: SFU.Room?
        /// Tells the track's hub its wanted layers changed (on the source worker).
        var layersChanged: ((PublishedTrack) -> Void)?

        /// On the destination worker.
        func drain() {
            toDestination?.begin()
            relayed?.drain(now: SystemClock.monotonic())
        }

        /// On the source worker: keyframes and layers the far side asked for.
        func serveFarSide() {
            toSource?.begin()
            guard let source, let track else { return }
            if case .some(let layer) = source.takeLayerRequest(), let sourceRoom {
                sourceRoom.setWantedLayer(layer, of: source, on: track)
                layersChanged?(track)
            }
            source.serviceKeyframeRequests(of: track, now: SystemClock.monotonic())
        }
    }

    private let ends: Ends

    private init(relayed: RelayedTrack, track: PublishedTrack, sourceRoom: SFU.Room, sourceWorker: MediaWorker,
                 destinationRoom: SFU.Room, destinationWorker: MediaWorker, publisher: SFU.Participant,
                 feedback: RelayFeedbackTransport, ends: Ends) {
        self.relayed = relayed
        self.ends = ends
        self.track = track
        self.sourceRoom = sourceRoom
        self.sourceWorker = sourceWorker
        self.destinationRoom = destinationRoom
        self.destinationWorker = destinationWorker
        self.publisher = publisher
        self.feedback = feedback
    }

    /// Relays `track` (of `sourceRoom`, on `sourceWorker`) into `destinationRoom` as a track of
    /// `publisher`, a participant of that room whose publisher transport is `feedback`. Returns
    /// once both ends are in place; the mirror's subscribers start at the next keyframe, which is
    /// asked for at once. The mirror's viewers' wanted layers (`RelayedTrack.wantLayer`) become
    /// the relay sink's layer on the source side, and `onWantedLayersChanged` runs there so the
    /// publisher's dynacast can follow.
    public static func open(_ track: PublishedTrack, of sourceRoom: SFU.Room, on sourceWorker: MediaWorker,
                            into destinationRoom: SFU.Room, on destinationWorker: MediaWorker,
                            as publisher: SFU.Participant, feedback: RelayFeedbackTransport,
                            ringCapacity: Int = 512,
                            onWantedLayersChanged: (@Sendable (PublishedTrack) -> Void)? = nil) async throws -> TrackRelay {
        let ends = Ends()
        // Made once: scheduling them allocates no closure per burst.
        let drain: @Sendable () -> Void = { ends.drain() }
        let serve: @Sendable () -> Void = { ends.serveFarSide() }
        let toDestination = RelayWake { [unowned destinationWorker] in destinationWorker.execute(drain) }
        let toSource = RelayWake { [unowned sourceWorker] in sourceWorker.execute(serve) }
        ends.toDestination = toDestination
        ends.toSource = toSource
        let source = RelaySource(ring: PacketRing(capacity: ringCapacity), wake: toDestination)
        nonisolated(unsafe) let original = track
        nonisolated(unsafe) let member = publisher
        // What may still change on the track is read where it changes.
        let (ssrc, audioLevelExtensionID, isScreenShare) = try await sourceWorker.run {
            (original.ssrc, original.audioLevelExtensionID, original.isScreenShare)
        }
        let relayed: RelayedTrack = try await destinationWorker.run {
            destinationRoom.join(member)
            let mirror = destinationRoom.publish(member, kind: original.kind, codec: original.codec, ssrc: ssrc,
                                                 layers: original.layers, id: original.id)
            mirror.defersFanOut = true
            mirror.isScreenShare = isScreenShare
            // The mirrors' audio levels feed the far hub's speaker detection.
            mirror.audioLevelExtensionID = audioLevelExtensionID
            let relayed = RelayedTrack(source: source, mirror: mirror, sourceWake: toSource)
            feedback.add(relayed)
            return relayed
        }
        try await destinationWorker.run { ends.relayed = relayed }
        try await sourceWorker.run {
            ends.source = source
            ends.track = original
            ends.sourceRoom = sourceRoom
            ends.layersChanged = onWantedLayersChanged
            // The relay stands for subscribers of any layer: dynacast keeps them all flowing.
            sourceRoom.attach(source, to: original, layer: original.layerCount - 1)
        }
        return TrackRelay(relayed: relayed, track: track, sourceRoom: sourceRoom, sourceWorker: sourceWorker,
                          destinationRoom: destinationRoom, destinationWorker: destinationWorker,
                          publisher: publisher, feedback: feedback, ends: ends)
    }

    /// Stops relaying: the source's sink goes, and the mirror ends for its subscribers.
    public func close() async {
        let ends = self.ends
        nonisolated(unsafe) let track = self.track
        nonisolated(unsafe) let publisher = self.publisher
        let sourceRoom = self.sourceRoom, destinationRoom = self.destinationRoom, feedback = self.feedback
        let relayed = self.relayed
        _ = try? await sourceWorker.run {
            if let source = ends.source { sourceRoom.detach(source, from: track) }
            ends.source = nil
            ends.track = nil
        }
        _ = try? await destinationWorker.run {
            feedback.remove(relayed)
            nonisolated(unsafe) let mirror = relayed.mirror
            destinationRoom.unpublish(publisher, track: mirror)
            ends.relayed = nil
        }
    }
}
