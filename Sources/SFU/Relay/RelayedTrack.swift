import Media

/// The receiving end of a relay, on another worker: a mirror `PublishedTrack` (same id, codec
/// and layers as the original) whose packets come from the `RelaySource`'s ring instead of a
/// publisher's transport. Subscribers on this worker get DownTracks of the mirror as of any
/// track; their keyframe requests travel back through `RelayFeedbackTransport`.
/// Confined to its worker, like the room that owns the mirror.
public final class RelayedTrack: @unchecked Sendable {
    public let source: RelaySource
    public let mirror: PublishedTrack
    /// Wakes the source's worker to serve keyframe requests.
    let sourceWake: RelayWake
    public private(set) var packetsRelayed = 0

    public init(source: RelaySource, mirror: PublishedTrack, sourceWake: RelayWake) {
        self.source = source
        self.mirror = mirror
        self.sourceWake = sourceWake
    }

    /// Feeds what the ring holds to the mirror's subscribers, then sends the batch (the ring's
    /// drain is this worker's receive batch). Run it on the mirror's worker after `RelayWake.begin`.
    public func drain(now: UInt64) {
        let mirror = self.mirror
        packetsRelayed += source.ring.drain { entry in
            switch entry {
            case .rtp(let bytes, let layer, _):
                mirror.receive(bytes, layer: layer, now: now)
            case .senderReport(let ntp, let rtpTimestamp, let layer):
                mirror.receiveSenderReport(ntp: ntp, rtpTimestamp: rtpTimestamp, layer: layer, now: now)
            }
        }
        if mirror.defersFanOut { mirror.flushFanOut(now: now) }
    }

    /// This side's viewers of the mirror want up to `layer` (nil: none): the source's worker
    /// changes what its relay sink keeps, which its publisher's dynacast counts.
    public func wantLayer(_ layer: Int?) {
        source.requestLayer(layer)
        sourceWake.signal()
    }

    /// A keyframe of `layer` is wanted on this side: the source's worker asks the publisher.
    func requestKeyframe(layer: Int) {
        guard layer >= 0, layer < 32 else { return }
        source.keyframeRequests.bitwiseOr(1 << UInt32(layer), ordering: .acquiringAndReleasing)
        sourceWake.signal()
    }
}

/// The "publisher transport" of relayed tracks on their worker: PLI and FIR the mirrors send
/// become keyframe requests for the source's worker. Nothing else goes upstream: the ring does
/// not lose packets silently (its drops are counted), so NACKs and receiver reports about it
/// would only describe our own memory. Confined to the mirrors' worker (the reference crosses
/// threads to get there, its state does not).
public final class RelayFeedbackTransport: MediaTransport, @unchecked Sendable {
    public private(set) var tracks: [RelayedTrack] = []
    public private(set) var keyframeRequests = 0
    public private(set) var ignoredFeedback = 0

    public init() {}

    public func add(_ track: RelayedTrack) { tracks.append(track) }
    public func remove(_ track: RelayedTrack) { tracks.removeAll { $0 === track } }

    public func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool { false }

    public func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool {
        var iterator = RTCPCompoundIterator(packet)
        while let view = iterator.next() {
            switch (view.packetType, view.format) {
            case (RTCPPacketType.payloadFeedback, RTCPPictureLossIndication.format):
                if let pli = try? RTCPPictureLossIndication(view) { keyframeWanted(ssrc: pli.mediaSSRC) }
            case (RTCPPacketType.payloadFeedback, RTCPFullIntraRequest.format):
                if let fir = try? RTCPFullIntraRequestView(view) {
                    for entry in fir.entries { keyframeWanted(ssrc: entry.ssrc) }
                }
            default:
                ignoredFeedback += 1
            }
        }
        return true
    }

    private func keyframeWanted(ssrc: UInt32) {
        for track in tracks {
            if let layer = track.mirror.layer(ofSSRC: ssrc) {
                keyframeRequests += 1
                track.requestKeyframe(layer: layer)
                return
            }
        }
    }
}
