/// Cumulative media counters of one room, read for metrics at scrape time.
///
/// The forwarding path already counts what it does (per `PublishedTrack`, `DownTrack` and
/// `Participant`, plain integers owned by the room's executor), so metrics add no per-packet
/// work: a scrape makes one hop onto each room's executor and copies those counters out.
public struct RoomTraffic: Sendable {
    public struct Counts: Sendable, Equatable {
        public var packetsIn = 0
        public var bytesIn = 0
        public var packetsOut = 0
        /// Payload bytes sent (the counter sender reports use).
        public var bytesOut = 0
        /// Packets sent again in answer to a subscriber's NACK.
        public var retransmits = 0
        /// Packets the forwarder dropped (not the ones skipped while waiting for a keyframe).
        public var forwardDrops = 0
        /// NACK items received from subscribers / NACKs sent to publishers.
        public var nacksIn = 0
        public var nacksOut = 0
        /// Keyframe requests (PLI/FIR) received from subscribers / PLIs sent to publishers.
        public var plisIn = 0
        public var plisOut = 0
        public init() {}
    }

    /// Counters by the object that owns them ("t:" published track, "d:" DownTrack,
    /// "p:" participant). Each is cumulative for its object's life; the key lets a collector
    /// turn them into deltas that survive objects going away.
    public var counters: [String: Counts] = [:]
    public var publishedAudioTracks = 0
    public var publishedVideoTracks = 0

    public init() {}
}

extension Room {
    /// Copies the room's counters; runs on the room's executor (one await per room per scrape).
    public func traffic() -> RoomTraffic {
        var traffic = RoomTraffic()
        // A stand-in's mirrors repeat packets its original's room counted (once is right).
        for participant in participants where !participant.isRelayCopy {
            var p = RoomTraffic.Counts()
            p.nacksIn = participant.nackItems
            p.plisIn = participant.keyframeRequests
            traffic.counters["p:" + participant.sid] = p
            for track in participant.publishedTracks {
                var t = RoomTraffic.Counts()
                t.packetsIn = track.packetsReceived
                t.bytesIn = track.bytesReceived
                t.nacksOut = track.nacksSent
                t.plisOut = track.keyframeRequestsSent
                traffic.counters["t:" + track.id] = t
                if track.kind == .audio { traffic.publishedAudioTracks += 1 } else { traffic.publishedVideoTracks += 1 }
            }
            for downTrack in participant.downTracks {
                var d = RoomTraffic.Counts()
                d.packetsOut = Int(downTrack.packetsSent)
                d.bytesOut = Int(downTrack.octetsSent)
                d.retransmits = downTrack.retransmissions
                d.forwardDrops = downTrack.packetsDropped
                traffic.counters["d:" + downTrack.track.id + "/" + participant.sid] = d
            }
        }
        return traffic
    }
}
