import Media

/// One track a participant publishes, with its simulcast layers (one layer without simulcast):
/// receives its RTP on the room's executor, keeps recent packets per layer for NACK answers, and
/// hands each packet to its DownTracks, whose forwarders pick the layer each subscriber gets.
/// Loop-confined; owned by its `Room`.
public final class PublishedTrack {
    public let id: String
    public let kind: TrackKind
    public let codec: TrackCodec
    /// Layer sizes as announced (lowest first); one entry without simulcast.
    public let layers: [LayerSelector.Layer]
    /// Media SSRC per layer: signalled, or learned from the first packet of the layer.
    public private(set) var layerSSRCs: [UInt32?]
    /// Recent packets per layer.
    public let caches: [PacketCache]
    /// The publisher's transport, for keyframe requests.
    public private(set) weak var publisherTransport: (any MediaTransport)?
    /// The SSRC we sign our feedback with.
    public let feedbackSSRC: UInt32

    public internal(set) var downTracks: [DownTrack] = []
    /// Recorders and other non-subscriber consumers (see `Room.attach`).
    public internal(set) var sinks: [any TrackPacketSink] = []
    /// The layer each sink records, in `sinks` order: dynacast must keep it flowing even when
    /// no subscriber watches the track. Negative: the sink wants no layer now (a relay whose
    /// far side has no viewer of it).
    public internal(set) var sinkLayers: [Int] = []
    private var throttles: [KeyframeRequestThrottle]

    public private(set) var packetsReceived = 0
    public private(set) var bytesReceived = 0
    /// Bytes received per layer (dynacast shows here: a layer nobody needs stops arriving).
    public private(set) var layerBytesReceived: [Int]
    /// Bits per second arriving per layer, smoothed (`sampleBitrates`): what forwarding that
    /// layer costs a subscriber's downlink. 0 for a layer not arriving.
    public private(set) var layerBitrates: [Double]
    private var bitrateSampledAt: UInt64?
    private var bitrateSampleBytes: [Int]
    /// Bytes of first arrivals that carry media, per layer: what `layerBitrates` is made of.
    /// A publisher probing its uplink pads (empty packets) or, with RTX, resends old packets
    /// as redundant payload: a 150 kbit/s layer then arrives at ~1 Mbit/s, and an allocator
    /// that took that for the layer's cost paused a viewer whose link held it easily.
    private var layerMediaBytes: [Int]
    /// A screen share: the downlink allocator serves it first.
    public var isScreenShare = false
    /// Reception per layer, for receiver reports and NACKs to the publisher.
    public private(set) var reception: [ReceptionStatistics]
    public private(set) var nacksSent = 0
    /// What each layer still owes us after its NACK, asked for again until it comes.
    private var owed: [UpstreamNACKTracker]
    /// Keyframes asked for because a missing packet never came.
    public private(set) var keyframesForLostPackets = 0
    /// Missing packets asked for again (their first NACK was not answered in time).
    public var nackRepeats: Int { owed.reduce(0) { $0 + $1.repeatedRequests } }
    /// The audio level header extension id (RFC 6464) the publisher uses, when negotiated.
    public var audioLevelExtensionID: UInt8?
    /// Audio levels (-dBov, 0 = loudest, 127 = silence) heard since `takeAudioLevel()`.
    private var audioLevelSum = 0
    private var audioLevelCount = 0
    public private(set) var malformedPackets = 0
    public private(set) var foreignSSRCPackets = 0
    public private(set) var senderReportsForwarded = 0

    private let codecIsVP8: Bool
    private let codecIsH264: Bool

    /// When true, `receive` only queues the fan-out of each packet (its copy in the packet cache)
    /// and `flushFanOut` sends the queued packets subscriber by subscriber. Set it when the
    /// transport tells when a receive batch ends (see `flushFanOut`); otherwise packets go out
    /// one by one, as they arrive.
    ///
    /// Why: sending packet by packet to every subscriber touches each subscriber's forwarder,
    /// transport, SRTP context and socket once per packet; a batch sent subscriber by subscriber
    /// touches them once per batch (as Janus's per-handle queues do). With 200 subscribers on one
    /// core that took the CPU per forwarded packet from about 21 to 16 µs and the loss from
    /// 9-21% to none (bench/README.md).
    public var defersFanOut = false
    /// Packets waiting for `flushFanOut`, in arrival order. One allocation, made here.
    private let pending: UnsafeMutablePointer<PendingPacket>
    public private(set) var pendingCount = 0
    /// More than a receive batch (8): a flush that never came costs at most this much delay.
    public static let pendingCapacity = 16

    /// A packet queued for fan-out: a view of its copy in the layer's cache, and what the
    /// forwarders need to know about it.
    struct PendingPacket {
        var packet: MutableRTPPacket
        var info: Forwarder.Packet
    }

    public init(id: String = SessionID.track(), kind: TrackKind, codec: TrackCodec, ssrc: UInt32?,
                layers: [LayerSelector.Layer] = [LayerSelector.Layer()],
                publisherTransport: (any MediaTransport)?, feedbackSSRC: UInt32 = 1,
                keyframeRequestInterval: UInt64 = 500_000_000, cacheCapacity: Int? = nil) {
        self.id = id
        self.kind = kind
        self.codec = codec
        self.layers = layers.isEmpty ? [LayerSelector.Layer()] : Array(layers.prefix(8))
        layerSSRCs = Array(repeating: nil, count: self.layers.count)
        layerSSRCs[0] = ssrc
        self.publisherTransport = publisherTransport
        self.feedbackSSRC = feedbackSSRC
        throttles = Array(repeating: KeyframeRequestThrottle(intervalNanoseconds: keyframeRequestInterval), count: self.layers.count)
        caches = (0..<self.layers.count).map { _ in PacketCache(capacity: cacheCapacity ?? (kind == .video ? 1024 : 128)) }
        layerBytesReceived = Array(repeating: 0, count: self.layers.count)
        layerBitrates = Array(repeating: 0, count: self.layers.count)
        bitrateSampleBytes = Array(repeating: 0, count: self.layers.count)
        layerMediaBytes = Array(repeating: 0, count: self.layers.count)
        reception = Array(repeating: ReceptionStatistics(), count: self.layers.count)
        owed = Array(repeating: UpstreamNACKTracker(), count: self.layers.count)
        codecIsVP8 = codec.isVP8
        codecIsH264 = codec.isH264
        pending = .allocate(capacity: Self.pendingCapacity)
    }

    deinit {
        pending.deinitialize(count: pendingCount)
        pending.deallocate()
    }

    public var layerCount: Int { layers.count }
    /// Layer 0's SSRC (the only one without simulcast).
    public var ssrc: UInt32? { layerSSRCs[0] }
    /// Layer 0's cache (the only one without simulcast).
    public var cache: PacketCache { caches[0] }

    /// The layer an SSRC of this track carries.
    public func layer(ofSSRC ssrc: UInt32) -> Int? {
        layerSSRCs.firstIndex { $0 == ssrc }
    }

    // MARK: Media in

    /// One RTP packet of `layer` from the publisher (plain, already unprotected). `bytes` is the
    /// receive buffer: it is rewritten in place per subscriber and restored before this returns.
    /// With `defersFanOut` the subscribers get the packet at the next `flushFanOut` instead.
    public func receive(_ bytes: UnsafeMutableRawBufferPointer, layer: Int = 0, now: UInt64) {
        guard layer >= 0, layer < layers.count else { malformedPackets += 1; return }
        let packet: MutableRTPPacket
        do { packet = try MutableRTPPacket(bytes) } catch { malformedPackets += 1; return }
        if let known = layerSSRCs[layer] {
            guard packet.ssrc == known else { foreignSSRCPackets += 1; return }
        } else {
            layerSSRCs[layer] = packet.ssrc
        }
        packetsReceived += 1
        bytesReceived += bytes.count
        layerBytesReceived[layer] += bytes.count
        let cached = caches[layer].insert(UnsafeRawBufferPointer(bytes), sequenceNumber: packet.sequenceNumber)
        let carriesMedia = packet.packet.payloadLength > 0
        switch reception[layer].receive(sequenceNumber: packet.sequenceNumber) {
        case .inOrder:
            if carriesMedia { layerMediaBytes[layer] += bytes.count }
            reception[layer].receiveTimestamp(packet.timestamp, now: now, clockRate: codec.clockRate)
        case .gap(let first, let count):
            if carriesMedia { layerMediaBytes[layer] += bytes.count }
            reception[layer].receiveTimestamp(packet.timestamp, now: now, clockRate: codec.clockRate)
            // Ask the publisher again for what went missing upstream (one FCI covers 17).
            if count <= 17 {
                let item = RTCPGenericNACK.Item(packetID: first, bitmask: count > 1 ? UInt16.max >> (17 - count) : 0)
                // Owed only when asked of a publisher (a relayed copy has none here), and only for
                // video: audio is not repaired by resends in WebRTC (its NACK is rarely negotiated).
                if sendNACK(layer: layer, items: CollectionOfOne(item)), kind == .video {
                    owed[layer].missing(first: first, count: count, now: now)
                }
            }
        case .late:
            // A retransmission's arrival says nothing about the network's jitter.
            owed[layer].arrived(packet.sequenceNumber)
        }
        if owed[layer].count > 0 { requestOwedAgain(layer: layer, now: now) }
        if let id = audioLevelExtensionID, let level = packet.packet.headerExtension(id: id), level.count >= 1 {
            audioLevelSum += Int(level[0] & 0x7F)
            audioLevelCount += 1
        }
        for sink in sinks { sink.receive(UnsafeRawBufferPointer(bytes), layer: layer, now: now) }
        guard !downTracks.isEmpty else { return }

        let rtp = packet.packet
        let vp8 = codecIsVP8 ? try? VP8PayloadDescriptor(parsing: rtp.payload) : nil
        let info = Forwarder.Packet(
            layer: layer, sequenceNumber: rtp.sequenceNumber, timestamp: rtp.timestamp, marker: rtp.marker,
            isKeyframe: isKeyframeStart(rtp, vp8: vp8), isPaddingOnly: rtp.payloadLength == 0, vp8: vp8,
            arrival: Int64(bitPattern: now))
        if defersFanOut, let cached, let copy = try? MutableRTPPacket(cached) {
            (pending + pendingCount).initialize(to: PendingPacket(packet: copy, info: info))
            pendingCount += 1
            if pendingCount == Self.pendingCapacity { flushFanOut(now: now) }
            return
        }
        // Not deferred, or not cached (oversized): out now. What is queued goes first, in order.
        if pendingCount > 0 { flushFanOut(now: now) }
        var wanted: UInt32 = 0
        for downTrack in downTracks where downTrack.isActive {
            if let needed = downTrack.forward(packet, info) { wanted |= 1 << UInt32(needed) }
        }
        requestKeyframes(wanted, now: now)
    }

    /// Sends the packets `receive` queued (`defersFanOut`): each subscriber gets all of them, in
    /// arrival order, before the next subscriber. Call when the transport's receive batch ends.
    public func flushFanOut(now: UInt64) {
        let count = pendingCount
        guard count > 0 else { return }
        pendingCount = 0
        defer { pending.deinitialize(count: count) }
        // A later packet of the batch may have taken a queued packet's cache slot (a sequence
        // number jump by a multiple of the cache's size): that packet is not sent.
        var valid = 0
        for index in 0..<count {
            let queued = pending[index]
            if queued.packet.sequenceNumber == queued.info.sequenceNumber {
                if valid != index { pending[valid] = queued }
                valid += 1
            }
        }
        var wanted: UInt32 = 0
        for downTrack in downTracks where downTrack.isActive {
            for index in 0..<valid {
                if let needed = downTrack.forward(pending[index].packet, pending[index].info) { wanted |= 1 << UInt32(needed) }
            }
        }
        requestKeyframes(wanted, now: now)
    }

    /// Someone waits for a keyframe of the layers in `wanted` (a bit per layer): ask the
    /// publisher, throttled per layer.
    @inline(__always)
    private func requestKeyframes(_ wanted: UInt32, now: UInt64) {
        var wanted = wanted
        while wanted != 0 {
            let needed = wanted.trailingZeroBitCount
            requestKeyframe(layer: needed, now: now)
            wanted &= wanted - 1
        }
    }

    /// True when `packet` starts a frame a decoder can begin with.
    @inline(__always)
    private func isKeyframeStart(_ packet: RTPPacket, vp8: VP8PayloadDescriptor?) -> Bool {
        if kind == .audio { return true }
        if codecIsVP8 { return vp8?.isKeyframe ?? false }
        if codecIsH264 { return H264Payload.isKeyframe(packet.payload) }
        return true
    }

    // MARK: RTCP

    /// Sends a PLI for `layer` to the publisher unless one went out within the throttle
    /// interval. Returns true when a PLI was sent.
    /// `bypassingThrottle` sends even within the interval (and restarts it): for a recorder that
    /// just attached, whose file cannot start before a keyframe.
    @discardableResult
    public func requestKeyframe(layer: Int = 0, now: UInt64, bypassingThrottle: Bool = false) -> Bool {
        guard kind == .video, layer >= 0, layer < layers.count, let ssrc = layerSSRCs[layer],
              let transport = publisherTransport else { return false }
        if bypassingThrottle {
            throttles[layer].recordForced(now: now)
        } else {
            guard throttles[layer].shouldSend(now: now) else { return false }
        }
        let pli = RTCPPictureLossIndication(senderSSRC: feedbackSSRC, mediaSSRC: ssrc)
        return RTCPScratchBuffer.send(to: transport) { pli.write(into: &$0) }
    }

    /// Asks again for the packets of `layer` whose resend has not come (one NACK, its items
    /// covering up to 16 following sequence numbers each; at most 16 items). A packet given up
    /// on asks for a keyframe at once (throttled like any other): the viewers cannot decode past
    /// the hole without one, and their own keyframe requests would come only after their NACKs
    /// for it run out (a 3 s stall in test_loss_recovery). The hole may have been padding, which
    /// a publisher without RTX pads with on the media stream and never resends: that costs one
    /// keyframe within the throttle's interval. (VP8 picture ids could tell the two apart.)
    private func requestOwedAgain(layer: Int, now: UInt64) {
        var abandoned = 0
        withUnsafeTemporaryAllocation(of: RTCPGenericNACK.Item.self, capacity: 16) { items in
            var used = 0
            abandoned = owed[layer].due(now: now) { sequence in
                if used > 0 {
                    let distance = sequence &- items[used - 1].packetID
                    if distance >= 1, distance <= 16 {
                        items[used - 1].bitmask |= 1 << (distance - 1)
                        return
                    }
                }
                guard used < 16 else { return }
                items.baseAddress!.advanced(by: used).initialize(to: RTCPGenericNACK.Item(packetID: sequence, bitmask: 0))
                used += 1
            }
            if used > 0 { sendNACK(layer: layer, items: UnsafeBufferPointer(rebasing: items[0..<used])) }
            items.baseAddress!.deinitialize(count: used)
        }
        if abandoned > 0 {
            keyframesForLostPackets += 1
            requestKeyframe(layer: layer, now: now)
        }
    }

    /// One generic NACK to the publisher about `layer`; false when there is no publisher to ask.
    @discardableResult
    private func sendNACK(layer: Int, items: some Collection<RTCPGenericNACK.Item>) -> Bool {
        guard let ssrc = layerSSRCs[layer], let transport = publisherTransport else { return false }
        let sender = feedbackSSRC
        guard RTCPScratchBuffer.send(to: transport, {
            RTCPGenericNACK.write(senderSSRC: sender, mediaSSRC: ssrc, items: items, into: &$0)
        }) else { return false }
        nacksSent += 1
        return true
    }

    /// One compound packet: a receiver report with a block for every layer that arrives and, for
    /// video, a REMB telling the publisher how much it may send (without it libwebrtc stays at its
    /// start bitrate and drops layers). Built on the stack: no allocation.
    public func sendFeedback(now: UInt64, rembBitrate: UInt64) {
        guard let transport = publisherTransport else { return }
        // At most 8 layers (see init): the blocks and SSRCs fit fixed stack buffers.
        withUnsafeTemporaryAllocation(of: RTCPReportBlock.self, capacity: 8) { blocks in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 8) { ssrcs in
                var count = 0
                for layer in layers.indices where count < 8 {
                    guard let ssrc = layerSSRCs[layer], reception[layer].started else { continue }
                    let block = reception[layer].reportBlock(ssrc: ssrc, now: now)
                    (blocks.baseAddress! + count).initialize(to: RTCPReportBlock(
                        ssrc: ssrc, fractionLost: block.fractionLost, cumulativeLost: Int32(clamping: block.cumulativeLost),
                        extendedHighestSequenceNumber: block.extendedHighestSequence, jitter: block.jitter,
                        lastSenderReport: block.lastSenderReport, delaySinceLastSenderReport: block.delaySinceLastSenderReport))
                    ssrcs[count] = ssrc
                    count += 1
                }
                guard count > 0 else { return }
                let sender = feedbackSSRC
                let remb = kind == .video && rembBitrate > 0
                RTCPScratchBuffer.send(to: transport) { writer in
                    RTCPReceiverReport.write(ssrc: sender, reportBlocks: UnsafeBufferPointer(rebasing: blocks[0..<count]),
                                             into: &writer)
                    if remb {
                        RTCPReceiverEstimatedMaxBitrate.write(senderSSRC: sender, bitrate: rembBitrate,
                                                              ssrcs: UnsafeBufferPointer(rebasing: ssrcs[0..<count]), into: &writer)
                    }
                }
                blocks.baseAddress!.deinitialize(count: count)
            }
        }
    }

    /// Interarrival jitter from the publisher in milliseconds, worst layer (what our receiver
    /// reports tell it; RFC 3550's estimator, updated with each in-order packet).
    public var jitterMs: Double {
        guard codec.clockRate > 0 else { return 0 }
        let worst = reception.filter(\.started).map(\.jitter).max() ?? 0
        return Double(worst) * 1000 / Double(codec.clockRate)
    }

    /// Loss upstream over the last feedback interval (0...1), worst layer.
    public var recentLoss: Double { reception.map(\.recentLoss).max() ?? 0 }

    /// The mean audio level heard since the last call (-dBov, 127 = silence), and resets it;
    /// nil when no level arrived.
    public func takeAudioLevel() -> Int? {
        defer { audioLevelSum = 0; audioLevelCount = 0 }
        return audioLevelCount == 0 ? nil : audioLevelSum / audioLevelCount
    }

    /// Updates `layerBitrates` from the bytes received since the last sample (at most every
    /// half second; the room's allocation tick calls it).
    public func sampleBitrates(now: UInt64) {
        guard let last = bitrateSampledAt else {
            bitrateSampledAt = now
            bitrateSampleBytes = layerMediaBytes
            return
        }
        let elapsed = Double(now &- last) / 1e9
        guard elapsed >= 0.5 else { return }
        for layer in layers.indices {
            let rate = Double(layerMediaBytes[layer] - bitrateSampleBytes[layer]) * 8 / elapsed
            // A layer that stopped reads 0 at once; a running one is smoothed over a couple of
            // seconds, so the keyframes a switch asks for do not read as the layer's cost.
            layerBitrates[layer] = rate == 0 || layerBitrates[layer] == 0 ? rate : 0.75 * layerBitrates[layer] + 0.25 * rate
        }
        bitrateSampleBytes = layerMediaBytes
        bitrateSampledAt = now
    }

    /// What forwarding `layer` costs, bits/s: measured, or assumed from its size when the layer
    /// is not arriving; never less than a lower layer's.
    public func bitrate(ofLayer layer: Int) -> Double {
        var rate = 0.0
        for index in 0...min(max(layer, 0), layers.count - 1) {
            let measured = layerBitrates[index]
            let own = measured > 0 ? measured
                : kind == .audio ? 40_000 : DownlinkAllocator.assumedBitrate(height: layers[index].height, layer: index)
            rate = max(rate, own)
        }
        return rate
    }

    /// Keyframe requests sent and suppressed by the throttle, over all layers.
    public var keyframeRequestsSent: Int { throttles.reduce(0) { $0 + $1.sent } }

    /// A sender report from the publisher about `layer`: DownTracks forwarding that layer send
    /// their own, in their own timestamp space.
    public func receiveSenderReport(ntp: UInt64, rtpTimestamp: UInt32, layer: Int = 0, now: UInt64 = 0) {
        if layer >= 0, layer < reception.count { reception[layer].receiveSenderReport(ntp: ntp, now: now) }
        for downTrack in downTracks where downTrack.isStarted && downTrack.isActive {
            downTrack.receiveSenderReport(ntp: ntp, rtpTimestamp: rtpTimestamp, layer: layer)
        }
        for sink in sinks { sink.receiveSenderReport(ntp: ntp, rtpTimestamp: rtpTimestamp, layer: layer) }
        senderReportsForwarded += 1
    }

    /// The highest layer any subscriber asks for (dynacast: the publisher may stop the
    /// layers above it); nil when nobody wants video from this track.
    public var highestWantedLayer: Int? {
        var highest: Int?
        for layer in sinkLayers where layer >= 0 { highest = max(highest ?? layer, layer) }
        for downTrack in downTracks {
            if let layer = downTrack.forwarder.selector.desiredLayer(for: downTrack.forwarder.settings) {
                highest = max(highest ?? layer, layer)
            }
        }
        return highest
    }

    // MARK: Subscribers

    func add(_ downTrack: DownTrack) {
        downTracks.append(downTrack)
    }

    func remove(_ downTrack: DownTrack) {
        downTracks.removeAll { $0 === downTrack }
    }

    func addSink(_ sink: any TrackPacketSink, layer: Int) {
        guard !sinks.contains(where: { $0 === sink }) else { return }
        sinks.append(sink)
        sinkLayers.append(min(max(layer, 0), layers.count - 1))
    }

    /// Changes the layer `sink` wants (nil: none).
    func setSinkLayer(_ sink: any TrackPacketSink, layer: Int?) {
        guard let index = sinks.firstIndex(where: { $0 === sink }) else { return }
        sinkLayers[index] = layer.map { min(max($0, 0), layers.count - 1) } ?? -1
    }

    func removeSink(_ sink: any TrackPacketSink) {
        guard let index = sinks.firstIndex(where: { $0 === sink }) else { return }
        sinks.remove(at: index)
        sinkLayers.remove(at: index)
    }
}
