import Foundation
import LiveKitProto
import Logging
import SFU
import WebRTC

/// The members of one media room, from every door (LiveKit clients, WHIP publishers, WHEP
/// viewers), and what links them: who receives which published track (auto-subscribe,
/// UpdateSubscription), dynacast, speakers and connection quality, and data packet relay.
///
/// Confined to the room's media worker, like the `SFU.Room` it drives; the control plane
/// reaches it with `worker.run`.
public final class RoomMediaHub: @unchecked Sendable {
    public let room: SFU.Room
    public let worker: MediaWorker
    /// The room's other hubs, on other workers, when the room spans several (set before any
    /// member joins). This hub tells it what its own members publish and send.
    public internal(set) weak var span: RoomSpan?
    public private(set) var members: [String: any RoomMember] = [:]  // by participant sid

    /// Counters (read on the worker).
    public private(set) var dataPacketsRelayed = 0
    /// Told (on the worker) of every data packet this hub's own members or the API sent, after
    /// its local delivery: an edge relay carries it to the room's other nodes.
    public var onDataRelayed: (@Sendable (_ bytes: [UInt8], _ reliable: Bool, _ destinations: Set<String>, _ senderSid: String?) -> Void)?

    /// Periodic work: speakers every tick, publisher feedback every second, connection quality
    /// every two seconds. Runs only while the room has members.
    private var timer: LoopTimer?
    private var ticks = 0
    public static let tickMilliseconds = 500
    /// What REMB tells publishers they may send: enough for 1080p simulcast; without it
    /// libwebrtc stays near its start bitrate and turns its upper layers off.
    public static let publisherBitrate: UInt64 = 6_000_000
    private var speakers = ActiveSpeakerDetector()
    private var connectionQuality = ConnectionQualityScorer()
    private var statsSampler = RoomStatsSampler()
    /// The room's stats as of the last sample (every 2 s while it has members).
    public private(set) var latestStats: RoomStats?

    public init(room: SFU.Room, worker: MediaWorker) {
        self.room = room
        self.worker = worker
    }

    private func startTimerIfNeeded() {
        guard timer == nil else { return }
        let timer = LoopTimer(worker: worker) { [weak self] in self?.tick() }
        timer.schedule(afterMilliseconds: Self.tickMilliseconds)
        self.timer = timer
    }

    private func tick() {
        guard !members.isEmpty else { timer?.cancel(); timer = nil; return }
        ticks += 1
        updateSpeakers()
        // Dynacast downgrades wait out their delay; this is their timer.
        let now = room.clock()
        for member in members.values { member.announceDueLayers(now: now) }
        if ticks % 2 == 0 { room.sendPublisherFeedback(rembBitrate: Self.publisherBitrate) }
        // Every tick: a viewer whose link just filled up should lose its top layer within half
        // a second, before its queue drops its signalling too.
        do {
            let speaking = Set(speakers.speakers.map(\.participant))
            for participant in room.allocateDownlinks(activeSpeakers: speaking) {
                if let member = members[participant.sid] {
                    member.logger.info("downlink caps changed", metadata: [
                        "participant": "\(member.sid)",
                        "caps": "\(participant.downTracks.filter { $0.track.kind == .video }.map { "\($0.forwarder.cap)" })",
                        "estimate": "\(participant.downlinkEstimator.estimate.map { Int($0) } ?? -1)",
                        "loss": "\(participant.downlinkEstimator.loss)"])
                }
            }
        }
        if ticks % 4 == 0 {
            sendConnectionQuality()
            // A room over several workers is sampled at one moment on all of them, from its
            // home hub's tick, so the merged figures cover one interval.
            if span?.isHome(self) ?? true {
                sampleStats(stampMs: nil)
                if let stamp = latestStats?.sampledAtMs { span?.sampleOthers(than: self, stampMs: stamp) }
            }
        }
        timer?.schedule(afterMilliseconds: Self.tickMilliseconds)
    }

    /// SpeakersChanged when the set of participants speaking changes (from the audio level the
    /// publishers' clients measured).
    private func updateSpeakers() {
        let samples = members.values.map { member in
            ActiveSpeakerDetector.Sample(
                participant: member.sid,
                levels: member.publishedTracks.filter { $0.kind == .audio }.compactMap { $0.takeAudioLevel() },
                hidden: member.permission.hidden)
        }
        guard let changed = speakers.update(samples, now: room.clock()) else { return }
        // At debug: when a speaker comes or goes is what a test of the hold needs to see.
        if let first = members.values.first, first.logger.logLevel <= .debug {
            first.logger.debug("speakers changed", metadata: [
                "speakers": "\(changed.map { "\($0.participant)\($0.active ? "" : " (stopped)")" })",
                "levels": "\(samples.map { "\($0.participant): \($0.levels)" })"])
        }
        for member in members.values { member.roomEvent(.speakersChanged(changed)) }
    }

    /// ConnectionQualityUpdate for everyone: loss the server saw from each publisher, loss each
    /// subscriber reported, and whether its downlink estimate carries what it asked for.
    private func sendConnectionQuality() {
        let samples = members.values.filter { !$0.permission.hidden }.map { member in
            ConnectionQualityScorer.Sample(participant: member.sid,
                                           upstreamLoss: member.publishedTracks.map(\.recentLoss).max() ?? 0,
                                           downstreamLoss: member.participant.downlinkLoss,
                                           downlink: member.participant.downlinkShortfall)
        }
        let ratings = connectionQuality.update(samples)
        guard !ratings.isEmpty else { return }
        for member in members.values { member.roomEvent(.connectionQuality(ratings)) }
    }

    /// Samples the room's stats now; `stampMs` names the sample when the room's home hub
    /// asked for it (one stamp for all of a room's hubs).
    func sampleStats(stampMs: UInt64?) {
        var stats = statsSampler.sample(room: room.name, members: Array(members.values), now: room.clock())
        if let stampMs { stats.sampledAtMs = stampMs }
        latestStats = stats
    }

    public var isEmpty: Bool { members.isEmpty }

    /// A member of this hub (stand-ins for other hubs' members are not).
    public func member(identity: String) -> (any RoomMember)? {
        members.values.first { $0.identity == identity && !$0.isRelayCopy }
    }

    /// Members joined through a door (stand-ins for other hubs' members are not).
    public var memberCount: Int { members.values.reduce(0) { $0 + ($1.isRelayCopy ? 0 : 1) } }

    /// Adds a participant: it joins the SFU room, subscribes to what is published (when it
    /// auto-subscribes) and gets its first subscriber offer (which also carries the data channels).
    public func add(_ participant: any RoomMember) {
        members[participant.sid] = participant
        startTimerIfNeeded()
        room.join(participant.participant)
        if participant.autoSubscribe && participant.canSubscribe {
            for other in members.values where other !== participant {
                for track in other.publishedTracks {
                    participant.subscribe(to: track, publisher: other)
                    other.announceWantedLayers(of: track)
                }
            }
        }
        participant.negotiateSubscriber()
        // A late joiner learns who is speaking now, not only at the next change (as LiveKit
        // tells a joiner the current speakers).
        let speaking = speakers.speakers
        if !speaking.isEmpty && !participant.isRelayCopy { participant.roomEvent(.speakersChanged(speaking)) }
    }

    /// Removes a participant: its tracks end for everyone, whose subscriber connections are
    /// renegotiated; then its connections close.
    public func remove(_ participant: any RoomMember) {
        guard members.removeValue(forKey: participant.sid) != nil else { return }
        let gone = Set(participant.publishedTracks.map(\.id))
        if !participant.isRelayCopy, let span {
            for sid in gone { span.trackUnpublished(sid, in: self) }
        }
        participant.logSubscriptionStats()
        room.leave(participant.participant)
        participant.close()
        for other in members.values {
            let dropped = other.subscribedTrackSids.filter { gone.contains($0) }
            guard !dropped.isEmpty else { continue }
            // The SFU room already removed these DownTracks.
            for sid in dropped { other.unsubscribe(trackSid: sid, track: nil) }
            other.negotiateSubscriber()
        }
        // What the leaver watched may no longer be needed by anyone.
        for other in members.values {
            for track in other.publishedTracks { other.announceWantedLayers(of: track) }
        }
    }

    /// A track became published: everyone who auto-subscribes receives it.
    public func published(_ track: PublishedTrack, by publisher: any RoomMember) {
        for other in members.values where other !== publisher && other.autoSubscribe && other.canSubscribe {
            other.subscribe(to: track, publisher: publisher)
            other.negotiateSubscriber()
        }
        publisher.announceWantedLayers(of: track)
        if !publisher.isRelayCopy { span?.trackPublished(track, by: publisher, in: self) }
    }

    /// A track stopped: its subscribers let it go.
    public func unpublished(_ track: PublishedTrack, by publisher: any RoomMember) {
        for other in members.values where other !== publisher && other.subscribedTrackSids.contains(track.id) {
            other.unsubscribe(trackSid: track.id, track: track)
            other.negotiateSubscriber()
        }
        room.unpublish(publisher.participant, track: track)
        if !publisher.isRelayCopy { span?.trackUnpublished(track.id, in: self) }
    }

    /// Subscribes `participant` to, or unsubscribes it from, the named tracks (UpdateSubscription,
    /// RoomService.UpdateSubscriptions). Unknown sids are ignored, as LiveKit does.
    public func setSubscribed(_ participant: any RoomMember, trackSids: [String], subscribe: Bool) {
        guard participant.canSubscribe || !subscribe else { return }
        var changed = false
        for sid in trackSids {
            guard let (publisher, track) = publishedTrack(sid: sid), publisher !== participant else { continue }
            if subscribe {
                guard !participant.subscribedTrackSids.contains(sid) else { continue }
                participant.subscribe(to: track, publisher: publisher)
            } else {
                guard participant.subscribedTrackSids.contains(sid) else { continue }
                participant.unsubscribe(trackSid: sid, track: track)
            }
            changed = true
            publisher.announceWantedLayers(of: track)
        }
        if changed { participant.negotiateSubscriber() }
    }

    /// Dynacast: tells the publisher of `track` which of its layers are wanted now.
    public func announceWantedLayers(of track: PublishedTrack) {
        for member in members.values where member.participant.publishedTracks.contains(where: { $0 === track }) {
            member.announceWantedLayers(of: track)
        }
    }

    private func publishedTrack(sid: String) -> ((any RoomMember), PublishedTrack)? {
        for member in members.values {
            if let track = member.participant.publishedTrack(id: sid) { return (member, track) }
        }
        return nil
    }

    // MARK: Data

    /// Relays a DataPacket from `sender` (nil: the server API) to everyone else, or only to its
    /// destination identities. The sender's identity and sid are filled in by us, never trusted
    /// from the client; reliable and lossy packets keep to their own channels.
    public func relay(_ packet: inout Livekit_DataPacket, reliable: Bool, from sender: (any RoomMember)?) {
        if let sender {
            packet.participantIdentity = sender.identity
            packet.participantSid = sender.sid
            if case .user(var user) = packet.value {
                user.participantIdentity = sender.identity
                user.participantSid = sender.sid
                packet.value = .user(user)
            }
        }
        packet.kind = reliable ? .reliable : .lossy
        var destinations = Set(packet.destinationIdentities)
        if case .user(let user) = packet.value { destinations.formUnion(user.destinationIdentities) }
        guard let bytes: [UInt8] = try? packet.serializedBytes() else { return }
        for member in members.values where member !== sender {
            guard destinations.isEmpty || destinations.contains(member.identity) else { continue }
            member.deliver(bytes, reliable: reliable)
            dataPacketsRelayed += 1
        }
        span?.dataRelayed(bytes, reliable: reliable, destinations: destinations, senderSid: sender?.sid, from: self)
        onDataRelayed?(bytes, reliable, destinations, sender?.sid)
    }

    /// A data packet another of the room's hubs relayed: to this hub's own members, but the
    /// sender's stand-in.
    public func deliverRelayed(_ bytes: [UInt8], reliable: Bool, destinations: Set<String>, senderSid: String?) {
        for member in members.values where !member.isRelayCopy && member.sid != senderSid {
            guard destinations.isEmpty || destinations.contains(member.identity) else { continue }
            member.deliver(bytes, reliable: reliable)
            dataPacketsRelayed += 1
        }
    }
}
