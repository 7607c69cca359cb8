import SFU

/// Turns the byte counters the forwarding path keeps into bitrates: it remembers each counter's
/// value at the previous sample and divides the difference by the time between. Runs on the
/// room's worker, on the hub's timer; nothing is added to the per-packet path.
struct RoomStatsSampler {
    private var previous: [String: (bytes: UInt64, at: UInt64)] = [:]
    private var seen: Set<String> = []

    /// Bits per second of `key` since the last sample (0 the first time it is seen).
    private mutating func rate(_ key: String, bytes: UInt64, now: UInt64) -> Int {
        seen.insert(key)
        defer { previous[key] = (bytes, now) }
        guard let last = previous[key], now > last.at, bytes >= last.bytes else { return 0 }
        return Int((bytes - last.bytes) * 8 * 1_000_000_000 / (now - last.at))
    }

    mutating func sample(room: String, members: [any RoomMember], now: UInt64) -> RoomStats {
        seen.removeAll(keepingCapacity: true)
        var participants: [RoomStats.Participant] = []
        var totalIn = 0, totalOut = 0, viewers = 0
        var relayedSubscribers: [String: Int] = [:]
        for member in members.sorted(by: { $0.identity < $1.identity }) {
            let sfu = member.participant
            // A stand-in is reported by its own hub; here only its mirrors' viewers count.
            if member.isRelayCopy {
                for track in sfu.publishedTracks { relayedSubscribers[track.id, default: 0] += track.consumerCount }
                continue
            }
            let tracks = sfu.publishedTracks.map { track -> RoomStats.Track in
                let layers = track.layers.indices.map { index in
                    RoomStats.Layer(layer: index, width: track.layers[index].width, height: track.layers[index].height,
                                    bitrateIn: rate("l:\(track.id)/\(index)", bytes: UInt64(track.layerBytesReceived[index]), now: now))
                }
                let bitrate = rate("t:\(track.id)", bytes: UInt64(track.bytesReceived), now: now)
                totalIn += bitrate
                return RoomStats.Track(sid: track.id, kind: track.kind.rawValue, codec: track.codec.name, bitrateIn: bitrate,
                                       loss: track.recentLoss, jitterMs: track.jitterMs, layers: track.layerCount > 1 ? layers : [],
                                       subscribers: track.consumerCount)
            }
            let subscriptions = sfu.downTracks.map { downTrack -> RoomStats.Subscription in
                let track = downTrack.track
                let layer = downTrack.forwarder.currentLayer
                // Sizes are known for video layers that announced them.
                let size = layer.flatMap { $0 < track.layers.count && track.layers[$0].width > 0 ? track.layers[$0] : nil }
                // The payload octet counter is 32 bits (as RTCP's): it wraps after 4 GiB, which the
                // sampler's "went backwards" check turns into one 0 sample.
                let bitrate = rate("d:\(track.id)/\(sfu.sid)", bytes: UInt64(downTrack.octetsSent), now: now)
                totalOut += bitrate
                return RoomStats.Subscription(trackSid: track.id, kind: track.kind.rawValue, layer: layer,
                                              width: size.map(\.width), height: size.map(\.height), bitrateOut: bitrate,
                                              paused: downTrack.forwarder.streamState == .paused,
                                              jitterMs: downTrack.receiverJitterMs,
                                              retransmissions: downTrack.retransmissions,
                                              rtxSSRC: downTrack.retransmissionStream?.ssrc,
                                              rtxPackets: downTrack.retransmissionStream?.packetsSent ?? 0)
            }
            let hidden = member.permission.hidden
            if !hidden && tracks.isEmpty { viewers += 1 }
            var entry = RoomStats.Participant(sid: member.sid, identity: member.identity, door: member.door.rawValue,
                                              hidden: hidden, tracks: tracks, subscriptions: subscriptions,
                                              downlinkLoss: sfu.downlinkLoss)
            entry.downlinkEstimate = sfu.downlinkEstimator.estimate.map { Int($0) }
            entry.transportFeedback = sfu.transportFeedbackPackets
            entry.probes = sfu.probesSent
            entry.lastProbeBitrate = sfu.downlinkEstimator.lastProbeBitrate.map { Int(min($0, 1e12)) }
            participants.append(entry)
        }
        // Counters of tracks and subscriptions that ended are forgotten.
        previous = previous.filter { seen.contains($0.key) }
        return RoomStats(room: room, participants: participants, viewers: viewers, bitrateIn: totalIn, bitrateOut: totalOut,
                         sampledAtMs: now / 1_000_000, relayedSubscribers: relayedSubscribers)
    }
}

extension PublishedTrack {
    /// Subscribers and recorders of the track; relays to other workers are not consumers
    /// (their mirrors' subscribers are counted there).
    var consumerCount: Int {
        downTracks.count + sinks.reduce(0) { $0 + ($1 is RelaySource ? 0 : 1) }
    }
}
