/// What a room's media is doing now, for the admin stats endpoint and the dashboard: who is in
/// it through which door, what each publisher sends (per simulcast layer) and what each viewer
/// is sent, with bitrates over the last sampling interval (about 2 s).
public struct RoomStats: Codable, Sendable {
    public struct Layer: Codable, Sendable {
        public var layer: Int
        public var width: Int
        public var height: Int
        public var bitrateIn: Int
    }

    public struct Track: Codable, Sendable {
        public var sid: String
        public var kind: String
        public var codec: String
        /// Bits per second arriving from the publisher (RTP packets, headers included).
        public var bitrateIn: Int
        /// Loss the server saw from the publisher over the last report interval, 0...1.
        public var loss: Double
        /// Interarrival jitter the server measures on the publisher's packets (RFC 3550), in
        /// milliseconds, worst layer.
        public var jitterMs: Double
        public var layers: [Layer]
        /// Subscribers and recorders receiving it.
        public var subscribers: Int
    }

    public struct Subscription: Codable, Sendable {
        public var trackSid: String
        public var kind: String
        /// The simulcast layer being sent (0 is the lowest); nil before the first keyframe or while paused.
        public var layer: Int?
        public var width: Int?
        public var height: Int?
        /// Bits per second of payload sent to this viewer (what its `bytesReceived` counts).
        public var bitrateOut: Int
        public var paused: Bool
        /// Interarrival jitter the viewer's latest receiver report gave for this stream, in
        /// milliseconds (0 until one arrives).
        public var jitterMs: Double
        /// NACKed packets sent again, and the SSRC and count of those sent as RTX (nil: the
        /// viewer did not negotiate RTX for it, repairs reuse the media stream).
        public var retransmissions: Int = 0
        public var rtxSSRC: UInt32? = nil
        public var rtxPackets: Int = 0
    }

    public struct Participant: Codable, Sendable {
        public var sid: String
        public var identity: String
        /// "livekit", "whip" or "whep".
        public var door: String
        public var hidden: Bool
        public var tracks: [Track]
        public var subscriptions: [Subscription]
        /// Loss the participant's receiver reports showed, 0...1.
        public var downlinkLoss: Double
        /// Its downlink estimate, bits/s (nil: no limit known yet), and what fed it.
        public var downlinkEstimate: Int? = nil
        /// Transport-wide CC feedback packets it sent us (0: it gives none).
        public var transportFeedback: Int = 0
        /// Probe clusters sent to it, and the last probe's measured rate (bits/s).
        public var probes: Int = 0
        public var lastProbeBitrate: Int? = nil
    }

    public var room: String
    public var participants: [Participant]
    /// Visible participants that publish nothing.
    public var viewers: Int
    public var bitrateIn: Int
    public var bitrateOut: Int
    /// Monotonic time of the sample, in milliseconds.
    public var sampledAtMs: UInt64
    /// Viewers of tracks relayed into this hub from another worker, by track sid, for
    /// `merging` (which adds them to the track's own count and empties this).
    public var relayedSubscribers: [String: Int] = [:]

    /// `relayedSubscribers` is bookkeeping between hubs, not part of the stats clients read.
    private enum CodingKeys: String, CodingKey {
        case room, participants, viewers, bitrateIn, bitrateOut, sampledAtMs
    }

    /// One room's stats from the hubs it spans (the home hub first, whose stamp they share):
    /// each member once, each track with its viewers on every worker.
    public static func merging(_ parts: [RoomStats]) -> RoomStats? {
        guard var merged = parts.first else { return nil }
        for part in parts.dropFirst() {
            merged.participants += part.participants
            merged.viewers += part.viewers
            merged.bitrateIn += part.bitrateIn
            merged.bitrateOut += part.bitrateOut
        }
        var relayed: [String: Int] = [:]
        for part in parts { relayed.merge(part.relayedSubscribers, uniquingKeysWith: +) }
        if !relayed.isEmpty {
            for p in merged.participants.indices {
                for t in merged.participants[p].tracks.indices {
                    merged.participants[p].tracks[t].subscribers += relayed[merged.participants[p].tracks[t].sid] ?? 0
                }
            }
        }
        merged.participants.sort { $0.identity < $1.identity }
        merged.relayedSubscribers = [:]
        return merged
    }
}
