import Media

/// The media side of one room, confined to one media worker: every track, DownTrack and
/// transport callback of the room runs on that worker's thread, so the room is a plain class
/// that transport callbacks call directly: no actor hop, closure, lock or Task per packet.
/// Code elsewhere reaches it by running a job on the worker (`MediaWorker.run`); debug builds
/// check every entry (`executor.checkIsolated()`).
///
/// Ownership goes down (room -> participants -> tracks -> DownTracks); the transports report
/// packets up by calling `receiveRTP`/`receiveRTCP` on the worker.
public final class Room: @unchecked Sendable {
    public let name: String
    /// The worker the room is confined to.
    public let executor: any SerialExecutor
    /// The clock the room and its policies (speakers, dynacast) run on.
    public let clock: MonotonicClock

    public private(set) var participants: [Participant] = []

    public init(name: String, executor: any SerialExecutor, clock: @escaping MonotonicClock = SystemClock.monotonic) {
        self.name = name
        self.executor = executor
        self.clock = clock
    }

    public var isEmpty: Bool { participants.isEmpty }

    public func participant(identity: String) -> Participant? {
        participants.first { $0.identity == identity }
    }

    /// The participant with `identity` that publishes tracks (a subscriber may share the identity).
    public func publisher(identity: String) -> Participant? {
        participants.first { $0.identity == identity && !$0.publishedTracks.isEmpty }
    }

    // MARK: Membership

    /// Adds a participant; joining twice is one membership.
    public func join(_ participant: Participant) {
        confined()
        guard !participants.contains(where: { $0 === participant }) else { return }
        participants.append(participant)
    }

    /// Removes a participant: its DownTracks leave their tracks, and its published tracks end for
    /// every subscriber (an RTCP BYE each).
    public func leave(_ participant: Participant) {
        confined()
        for downTrack in participant.downTracks { downTrack.track.remove(downTrack) }
        participant.downTracks.removeAll()
        for track in participant.publishedTracks {
            for downTrack in track.downTracks {
                downTrack.sendGoodbye()
                if let subscriber = participants.first(where: { $0.sid == downTrack.subscriberID }) {
                    subscriber.downTracks.removeAll { $0 === downTrack }
                }
            }
            track.downTracks.removeAll()
        }
        participant.publishedTracks.removeAll()
        participants.removeAll { $0 === participant }
    }

    // MARK: Tracks

    @discardableResult
    public func publish(_ participant: Participant, kind: TrackKind, codec: TrackCodec, ssrc: UInt32?,
                        layers: [LayerSelector.Layer] = [LayerSelector.Layer()],
                        id: String = SessionID.track()) -> PublishedTrack {
        confined()
        let track = PublishedTrack(id: id, kind: kind, codec: codec, ssrc: ssrc, layers: layers,
                                   publisherTransport: participant.publisherTransport,
                                   feedbackSSRC: UInt32.random(in: 1...UInt32.max))
        participant.publishedTracks.append(track)
        return track
    }

    /// Adds a DownTrack of `track` for `subscriber` with the subscriber's SSRC and payload type.
    /// It sends once `activate` says the subscriber's transport is up (pass `active: true` when it
    /// already is); video then starts at the next keyframe.
    @discardableResult
    public func subscribe(_ subscriber: Participant, to track: PublishedTrack, ssrc: UInt32, payloadType: UInt8,
                          active: Bool = false) -> DownTrack {
        confined()
        let downTrack = DownTrack(track: track, subscriberID: subscriber.sid, ssrc: ssrc, payloadType: payloadType,
                                  transport: subscriber.subscriberTransport, active: active)
        downTrack.sendHistory = subscriber.sendHistory
        track.add(downTrack)
        subscriber.downTracks.append(downTrack)
        if active { requestKeyframe(for: downTrack) }
        return downTrack
    }

    /// Ends `subscriber`'s DownTrack of `track` (an RTCP BYE tells its decoder).
    public func unsubscribe(_ subscriber: Participant, from track: PublishedTrack) {
        confined()
        for downTrack in subscriber.downTracks where downTrack.track === track {
            downTrack.sendGoodbye()
            track.remove(downTrack)
        }
        subscriber.downTracks.removeAll { $0.track === track }
    }

    /// Ends one published track: every subscriber's DownTrack of it goes.
    public func unpublish(_ participant: Participant, track: PublishedTrack) {
        confined()
        for downTrack in track.downTracks {
            downTrack.sendGoodbye()
            if let subscriber = participants.first(where: { $0.sid == downTrack.subscriberID }) {
                subscriber.downTracks.removeAll { $0 === downTrack }
            }
        }
        track.downTracks.removeAll()
        participant.publishedTracks.removeAll { $0 === track }
    }

    /// Gives `sink` (a recorder) the packets of `track` from now on, and asks for a keyframe of
    /// `layer` so a video recording can start at once (even if a subscriber's request was just
    /// sent). The sink still sees every layer's packets;
    /// `layer` is the one it keeps, which `highestWantedLayer` (dynacast) now counts as wanted.
    public func attach(_ sink: any TrackPacketSink, to track: PublishedTrack, layer: Int = 0) {
        confined()
        guard !track.sinks.contains(where: { $0 === sink }) else { return }
        track.addSink(sink, layer: layer)
        // Not throttled: a subscriber's request may have just opened the interval, and the
        // recording would lose up to a second waiting it out (seen with the Python SDK).
        track.requestKeyframe(layer: layer, now: clock(), bypassingThrottle: true)
    }

    /// Changes the layer an attached sink keeps (nil: none for now), for dynacast.
    public func setWantedLayer(_ layer: Int?, of sink: any TrackPacketSink, on track: PublishedTrack) {
        confined()
        track.setSinkLayer(sink, layer: layer)
    }

    public func detach(_ sink: any TrackPacketSink, from track: PublishedTrack) {
        confined()
        track.removeSink(sink)
    }

    /// A keyframe request for `track` on behalf of a sink: throttled, unless the sink keeps its
    /// own interval (a recorder waiting for a keyframe asks a few times a second at most).
    public func requestKeyframe(_ track: PublishedTrack, layer: Int = 0, bypassingThrottle: Bool = false) {
        confined()
        track.requestKeyframe(layer: layer, now: clock(), bypassingThrottle: bypassingThrottle)
    }

    /// Starts one DownTrack (its subscriber now knows its SSRC), asking for a keyframe.
    public func activate(_ downTrack: DownTrack) {
        confined()
        guard !downTrack.isActive else { return }
        downTrack.isActive = true
        requestKeyframe(for: downTrack)
    }

    /// A subscriber's layer choice (UpdateTrackSettings); asks for the keyframe a switch needs.
    public func setSettings(_ settings: LayerSelector.Settings, for downTrack: DownTrack) {
        confined()
        if let layer = downTrack.setSettings(settings, now: clock()) {
            downTrack.track.requestKeyframe(layer: layer, now: clock())
        }
    }

    /// Asks the publisher for a keyframe of the layer `downTrack` is heading for (throttled).
    private func requestKeyframe(for downTrack: DownTrack) {
        let layer = downTrack.forwarder.targetLayer ?? downTrack.forwarder.currentLayer ?? 0
        downTrack.track.requestKeyframe(layer: layer, now: clock())
    }

    /// The subscriber's transport connected: its DownTracks start, and each video track asks its
    /// publisher for a keyframe (throttled; retried while someone still waits) so playback
    /// begins fast.
    public func activate(_ subscriber: Participant) {
        confined()
        for downTrack in subscriber.downTracks where !downTrack.isActive {
            downTrack.isActive = true
            requestKeyframe(for: downTrack)
        }
    }

    // MARK: Periodic work (a timer on the executor)

    /// Receiver reports and REMB to every publisher.
    public func sendPublisherFeedback(rembBitrate: UInt64) {
        confined()
        let now = clock()
        for participant in participants {
            for track in participant.publishedTracks { track.sendFeedback(now: now, rembBitrate: rembBitrate) }
        }
    }

    /// Probe clusters: padding packets (275 octets each) back to back, 20 (5.5 KB) or 12 below
    /// 300 kbit/s, where 5.5 KB would hold the viewer's audio up for 300 ms. The second half
    /// must pass after a token bucket's burst (a few KB) is spent to measure the rate behind it.
    public static func probePackets(estimate: Double?) -> Int { (estimate ?? .infinity) < 300_000 ? 12 : 20 }
    /// A subscriber that could use more than its estimate is probed this often; less often
    /// while probes find nothing more.
    public static let probeInterval: UInt64 = 3_000_000_000
    public static let probeIntervalAfterMiss: UInt64 = 5_000_000_000

    /// Shares each subscriber's downlink estimate among its video tracks (`DownlinkAllocator`),
    /// applies the caps (pausing or resuming video, asking for the keyframes new layers need),
    /// and probes the downlink of a subscriber that would take more. Runs on the room's
    /// periodic tick. Returns the subscribers whose caps changed.
    @discardableResult
    public func allocateDownlinks(activeSpeakers: Set<String> = []) -> [Participant] {
        confined()
        let now = clock()
        for participant in participants {
            for track in participant.publishedTracks { track.sampleBitrates(now: now) }
        }
        var changed: [Participant] = []
        for participant in participants where !participant.downTracks.isEmpty && !participant.isRelayCopy {
            // The send rate over the interval: the loss-only fallback works from it.
            let octets = participant.downTracks.reduce(UInt64(0)) { $0 + $1.bytesSent }
            if let last = participant.allocatedAt, now > last {
                participant.sendBitrate = Double(octets &- participant.octetsAtAllocation) * 8 / (Double(now - last) / 1e9)
            }
            participant.octetsAtAllocation = octets
            participant.allocatedAt = now
            if participant.freshReport {
                participant.freshReport = false
                participant.downlinkEstimator.receiverReportLoss(participant.downlinkLoss, sendBitrate: participant.sendBitrate, now: now)
            }

            let video = participant.downTracks.filter { $0.track.kind == .video }
            let audioBitrate = participant.downTracks.filter { $0.track.kind == .audio }
                .reduce(0.0) { $0 + $1.track.bitrate(ofLayer: 0) }
            let tracks = video.map { downTrack in
                let track = downTrack.track
                let publisher = participants.first { $0.publishedTracks.contains { $0 === track } }
                let priority = track.isScreenShare ? 2 : (publisher.map { activeSpeakers.contains($0.sid) } ?? false) ? 1 : 0
                return DownlinkAllocator.Track(
                    id: track.id, priority: priority,
                    desiredLayer: downTrack.forwarder.selector.desiredLayer(for: downTrack.forwarder.settings),
                    layerBitrates: track.layers.indices.map { track.bitrate(ofLayer: $0) })
            }
            let caps = participant.downlinkAllocator.allocate(
                estimate: participant.downlinkEstimator.estimate, audioBitrate: audioBitrate, tracks: tracks, now: now)
            var any = false
            for (downTrack, cap) in zip(video, caps) where downTrack.forwarder.cap != cap {
                any = true
                if let layer = downTrack.setCap(cap, now: now) { downTrack.track.requestKeyframe(layer: layer, now: now) }
            }
            if any { changed.append(participant) }
            participant.downlinkShortfall = caps.contains(.paused) ? .paused
                : participant.downlinkAllocator.isDeficient ? .reduced : .sufficient
            probeIfWanted(participant, video: video, now: now)
        }
        return changed
    }

    /// A probe cluster on one of the subscriber's video streams when the allocator would give
    /// it more than its estimate allows and the last probe is old enough.
    private func probeIfWanted(_ participant: Participant, video: [DownTrack], now: UInt64) {
        guard participant.downlinkAllocator.isDeficient, participant.sendHistory.isEnabled else { return }
        let interval = participant.downlinkEstimator.lastProbeRaised ? Self.probeInterval : Self.probeIntervalAfterMiss
        if let last = participant.lastProbeAt, now &- last < (participant.probesSent < 2 ? Self.probeInterval : interval) { return }
        let packets = Self.probePackets(estimate: participant.downlinkEstimator.estimate)
        participant.lastProbeID = participant.lastProbeID == 255 ? 1 : participant.lastProbeID + 1
        let id = participant.lastProbeID
        // A forwarding stream first (its cluster waits for a frame's end), else a paused one.
        let candidates = video.filter { $0.forwarder.currentLayer != nil } + video.filter { $0.forwarder.currentLayer == nil }
        for downTrack in candidates where downTrack.requestProbe(packets: packets, id: id, now: now) {
            participant.downlinkEstimator.probeSent(id: id, packets: packets, now: now)
            participant.lastProbeAt = now
            participant.probesSent += 1
            return
        }
    }

    // MARK: Packets in (on the executor)

    /// RTP of `track` from its publisher; fanned out to its DownTracks (or queued for
    /// `flushFanOut`, see `PublishedTrack.defersFanOut`). A transport's receive callback calls
    /// this directly on the worker: no closure, so no allocation per packet.
    @inline(__always)
    public func receiveRTP(_ packet: UnsafeMutableRawBufferPointer, track: PublishedTrack, layer: Int = 0) {
        confined()
        track.receive(packet, layer: layer, now: clock())
    }

    /// The publisher's receive batch ended: `tracks` (those of its connection; nil entries are
    /// skipped) send what they queued (`PublishedTrack.defersFanOut`).
    public func flushFanOut(_ tracks: [PublishedTrack?]) {
        confined()
        let now = clock()
        for case let track? in tracks { track.flushFanOut(now: now) }
    }

    /// A compound RTCP packet from `participant`: sender reports of its tracks go to their
    /// subscribers; receiver reports about its DownTracks give its downlink loss; PLI/FIR about a
    /// DownTrack become a (throttled) PLI to the publisher; NACKs are answered from the cache;
    /// REMB and transport-wide CC feedback are recorded on the participant. Parsed in place with
    /// Media's views: no allocation. A packet that does not parse is counted and skipped; the
    /// walk stops at one whose length is wrong (nothing after it can be found).
    public func receiveRTCP(_ packet: UnsafeRawBufferPointer, from participant: Participant) {
        confined()
        let now = clock()
        var iterator = RTCPCompoundIterator(packet)
        while let view = iterator.next() {
            do {
                try handleRTCP(view, from: participant, now: now)
            } catch {
                participant.countMalformedRTCP()
            }
        }
        if iterator.error != nil { participant.countMalformedRTCP() }
    }

    private func handleRTCP(_ view: RTCPPacketView, from participant: Participant,
                                        now: UInt64) throws(RTCPParseError) {
        switch (view.packetType, view.format) {
        case (RTCPPacketType.senderReport, _):
            let report = try RTCPSenderReportView(view)
            if let (track, layer) = participant.publishedTrack(ssrc: report.ssrc) {
                track.receiveSenderReport(ntp: report.ntpTimestamp, rtpTimestamp: report.rtpTimestamp, layer: layer, now: now)
            }
            // One transport both ways (WHIP/WHEP): its reports on our streams ride in its SR.
            receivedReportBlocks(report.reportBlocks, from: participant)
        case (RTCPPacketType.receiverReport, _):
            let report = try RTCPReceiverReportView(view)
            participant.countReceiverReport()
            receivedReportBlocks(report.reportBlocks, from: participant)
        case (RTCPPacketType.payloadFeedback, RTCPPictureLossIndication.format):
            let pli = try RTCPPictureLossIndication(view)
            keyframeRequested(by: participant, ssrc: pli.mediaSSRC, now: now)
        case (RTCPPacketType.payloadFeedback, RTCPFullIntraRequest.format):
            for entry in try RTCPFullIntraRequestView(view).entries {
                keyframeRequested(by: participant, ssrc: entry.ssrc, now: now)
            }
        case (RTCPPacketType.payloadFeedback, RTCPReceiverEstimatedMaxBitrate.format)
        where RTCPReceiverEstimatedMaxBitrate.isREMB(view):
            let remb = try RTCPReceiverEstimatedMaxBitrateView(view)
            participant.receivedEstimate(bitrate: remb.bitrate, now: now)
        case (RTCPPacketType.transportFeedback, RTCPGenericNACK.format):
            let nack = try RTCPGenericNACKView(view)
            guard let downTrack = participant.downTrack(ssrc: nack.mediaSSRC) else {
                participant.countUnknownFeedback()
                return
            }
            for item in nack.items {
                participant.countNACKItem()
                downTrack.retransmit(packetID: item.packetID, bitmask: item.bitmask, now: now)
            }
        case (RTCPPacketType.transportFeedback, TransportCCFeedback.format):
            let feedback = try TransportCCFeedbackView(view)
            participant.receivedTransportFeedback(TransportFeedbackRecord(
                receivedAt: now, baseSequenceNumber: feedback.baseSequenceNumber,
                packetStatusCount: feedback.packetStatusCount, receivedCount: feedback.receivedCount,
                feedbackPacketCount: feedback.feedbackPacketCount))
            participant.estimate(from: feedback, now: now)
        case (RTCPPacketType.payloadFeedback, _), (RTCPPacketType.transportFeedback, _):
            participant.countUnknownFeedback()
        default:
            break  // SDES, BYE, APP, XR
        }
    }

    /// The worst loss among the blocks about `participant`'s DownTracks becomes its downlink
    /// loss (blocks about other sources say nothing about what we send it); each block's jitter
    /// is kept on its DownTrack for the stats.
    private func receivedReportBlocks(_ blocks: RTCPReportBlockIterator, from participant: Participant) {
        var worst: UInt8?
        for block in blocks {
            guard let downTrack = participant.downTrack(ssrc: block.ssrc) else { continue }
            worst = max(worst ?? 0, block.fractionLost)
            downTrack.receiverJitter = block.jitter
        }
        if let worst { participant.receivedReport(fractionLost: worst) }
    }

    private func keyframeRequested(by participant: Participant, ssrc: UInt32, now: UInt64) {
        guard let downTrack = participant.downTrack(ssrc: ssrc) else { return }
        participant.countKeyframeRequest()
        let layer = downTrack.forwarder.currentLayer ?? downTrack.forwarder.targetLayer ?? 0
        downTrack.track.requestKeyframe(layer: layer, now: now)
    }

    /// Debug builds trap when the room is used off its worker (the contract every caller keeps;
    /// release builds trust it, as the per-packet path must not pay for the check).
    @inline(__always)
    func confined() {
        #if DEBUG
        executor.checkIsolated()
        #endif
    }

}
