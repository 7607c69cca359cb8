import EdgeLink
import SFU

/// The origin's sink for one edge's subscription of one track: every packet of a layer the
/// edge's viewers want is sealed and sent once over the link, whatever the number of viewers on
/// that node. Runs on the origin room's worker, inside the track's receive.
final class EdgeTrackSink: TrackPacketSink, @unchecked Sendable {
    let subscription: UInt16
    private let endpoint: EdgeLinkEndpoint
    /// The highest layer the edge wants (-1: none). Until the edge says, every layer flows, so
    /// its first viewer does not wait for a round trip.
    var wantedLayer = Int.max

    init(subscription: UInt16, endpoint: EdgeLinkEndpoint) {
        self.subscription = subscription
        self.endpoint = endpoint
    }

    func receive(_ packet: UnsafeRawBufferPointer, layer: Int, now: UInt64) {
        guard layer <= wantedLayer, layer >= 0, layer < 256 else { return }
        endpoint.sendMedia(subscription: subscription, layer: UInt8(layer), packet: packet)
    }

    func receiveSenderReport(ntp: UInt64, rtpTimestamp: UInt32, layer: Int) {
        guard layer >= 0, layer < 256 else { return }
        endpoint.sendControl(.senderReport(subscription: subscription, layer: UInt8(layer), ntp: ntp,
                                           rtpTimestamp: rtpTimestamp))
    }
}
