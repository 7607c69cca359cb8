import Media

/// One published track as sent to one subscriber. Its `Forwarder` picks the simulcast layer and
/// gives each forwarded packet its outgoing sequence number, timestamp and (VP8) picture ids;
/// the header and descriptor are rewritten in place, sent, and restored (rewrite-send-restore):
/// no copy, no allocation. Loop-confined; owned by its `Room`.
public final class DownTrack {
    public unowned let track: PublishedTrack
    public let subscriberID: String
    /// SSRC and payload type negotiated with the subscriber.
    public let ssrc: UInt32
    public let payloadType: UInt8
    public let transport: any MediaTransport
    public private(set) var forwarder: Forwarder
    /// False until the subscriber's transport can carry media (see `Room.activate`): packets sent
    /// before that would be lost, and with them the keyframe the subscriber starts from.
    public internal(set) var isActive: Bool
    /// Told when forwarding pauses or resumes (LiveKit's StreamStateUpdate). Rare; never per packet.
    public var onStreamStateChange: ((Forwarder.StreamState) -> Void)?
    /// The subscriber's transport negotiated header extensions of its own (a single peer
    /// connection that also publishes): the publisher's extensions, kept in forwarded packets,
    /// would be read with the subscriber's ids (a publisher's mid would route the packet to the
    /// wrong m-line), so they are hidden (see `ExtensionBlockMask`).
    public var hidesHeaderExtensions = false
    /// The subscriber's transport-wide send history: when its extension is negotiated, every
    /// packet sent gets the next transport-wide sequence number (see `TransportSequenceStamp`).
    public var sendHistory: TransportSequenceHistory?
    /// The RTX stream NACKs are answered on, once the subscriber's answer kept RTX for this
    /// track (video); nil: retransmissions go out again on the media stream.
    public var retransmissionStream: RetransmissionStream?
    /// Padding packets still to send as a probe cluster after the next frame's last packet
    /// (padding in the middle of a frame would split it), and the cluster's id.
    private var probePending = 0
    private var probeID: UInt8 = 0

    public private(set) var packetsSent: UInt32 = 0
    /// Payload octets sent (for sender reports).
    public private(set) var octetsSent: UInt32 = 0
    /// Bytes on the wire (headers included, before SRTP), for the subscriber's send rate.
    public private(set) var bytesSent: UInt64 = 0
    public private(set) var sendFailures = 0
    public private(set) var packetsDropped = 0
    public private(set) var packetsSkippedBeforeKeyframe = 0
    public private(set) var retransmissions = 0
    public private(set) var retransmissionMisses = 0
    public private(set) var senderReportsSent = 0
    public private(set) var layerSwitches = 0
    /// Interarrival jitter the subscriber's latest receiver report gave for this stream, in RTP
    /// timestamp units (0 until one arrives).
    public internal(set) var receiverJitter: UInt32 = 0
    /// The same in milliseconds.
    public var receiverJitterMs: Double {
        track.codec.clockRate == 0 ? 0 : Double(receiverJitter) * 1000 / Double(track.codec.clockRate)
    }

    /// What was sent under each recent outgoing sequence number, to answer NACKs from the right
    /// layer's cache with the same rewrite. One allocation, made here.
    private let history: UnsafeMutablePointer<SentPacket>
    private static let historySize = 512  // ~2 s at 2.5 Mbit/s; 12 KiB per DownTrack
    /// The last forwarded packet's timestamps, to translate sender reports.
    private var lastIncomingTimestamp: UInt32 = 0
    private var lastOutgoingTimestamp: UInt32 = 0

    struct SentPacket {
        var outgoing: UInt16 = 0
        var incoming: UInt16 = 0
        var layer: UInt8 = 0
        var valid = false
        var rewrite = Forwarder.Rewrite(sequenceNumber: 0, timestamp: 0, marker: false)
    }

    public init(track: PublishedTrack, subscriberID: String, ssrc: UInt32, payloadType: UInt8,
                transport: any MediaTransport, initialSequence: UInt16 = UInt16.random(in: 0...0x7FFF),
                active: Bool = true) {
        self.track = track
        self.subscriberID = subscriberID
        self.ssrc = ssrc
        self.payloadType = payloadType
        self.transport = transport
        let configuration = Forwarder.Configuration(clockRate: track.codec.clockRate, initialSequenceNumber: initialSequence)
        forwarder = Forwarder(layers: track.layers, configuration: configuration)
        self.isActive = active
        history = .allocate(capacity: Self.historySize)
        history.initialize(repeating: SentPacket(), count: Self.historySize)
    }

    deinit {
        history.deallocate()
    }

    public var isStarted: Bool { forwarder.highestOutgoingSequence != nil }
    /// Video waits for a keyframe before anything is forwarded.
    public var waitingForKeyframe: Bool { track.kind == .video && forwarder.currentLayer == nil }

    // MARK: Control

    /// The subscriber's layer choice (UpdateTrackSettings). Returns the layer whose keyframe is
    /// now needed, if any.
    @discardableResult
    public func setSettings(_ settings: LayerSelector.Settings, now: UInt64) -> Int? {
        let update = forwarder.setSettings(settings, now: Int64(bitPattern: now))
        if let change = update.streamStateChange { onStreamStateChange?(change) }
        return update.keyframeNeeded
    }

    /// The bandwidth allocator's limit. Returns the layer whose keyframe is now needed, if any.
    @discardableResult
    public func setCap(_ cap: LayerSelector.Cap, now: UInt64) -> Int? {
        let update = forwarder.setCap(cap, now: Int64(bitPattern: now))
        if let change = update.streamStateChange { onStreamStateChange?(change) }
        return update.keyframeNeeded
    }

    // MARK: Media

    /// Offers one packet of the track (`info` describes it) to this subscriber. Returns the
    /// layer whose keyframe the forwarder waits for, if any. The bytes are unchanged on return.
    @inline(__always)
    public func forward(_ packet: MutableRTPPacket, _ info: Forwarder.Packet) -> Int? {
        let decision = forwarder.process(info)
        if let change = decision.streamStateChange { onStreamStateChange?(change) }
        if decision.layerSwitch != nil { layerSwitches += 1 }
        switch decision.action {
        case .drop(let reason):
            if reason == .waitingForKeyframe { packetsSkippedBeforeKeyframe += 1 } else { packetsDropped += 1 }
        case .forward(let rewrite):
            if send(packet, rewrite, vp8: info.vp8, now: UInt64(bitPattern: info.arrival)) {
                packetsSent &+= 1
                octetsSent &+= UInt32(truncatingIfNeeded: packet.packet.payloadLength)
                bytesSent &+= UInt64(packet.bytes.count)
            }
            let slot = Int(rewrite.sequenceNumber) & (Self.historySize - 1)
            history[slot] = SentPacket(outgoing: rewrite.sequenceNumber, incoming: info.sequenceNumber,
                                       layer: UInt8(truncatingIfNeeded: info.layer), valid: true, rewrite: rewrite)
            lastIncomingTimestamp = info.timestamp
            lastOutgoingTimestamp = rewrite.timestamp
            if probePending > 0, rewrite.marker { sendProbe(now: UInt64(bitPattern: info.arrival)) }
        }
        return decision.keyframeNeeded
    }

    /// Rewrite, send, restore. With `rtx`, what goes out is the rewritten packet's RTX form (a
    /// copy in the stream's scratch buffer), not the packet itself.
    @inline(__always)
    private func send(_ packet: MutableRTPPacket, _ rewrite: Forwarder.Rewrite, vp8: VP8PayloadDescriptor?,
                      now: UInt64, repairingOn rtx: RetransmissionStream? = nil) -> Bool {
        let originalSSRC = packet.ssrc
        let originalPT = packet.payloadType
        let originalSequence = packet.sequenceNumber
        let originalTimestamp = packet.timestamp
        let originalMarker = packet.marker
        packet.ssrc = ssrc
        packet.payloadType = payloadType
        packet.sequenceNumber = rewrite.sequenceNumber
        packet.timestamp = rewrite.timestamp
        packet.marker = rewrite.marker
        var saved = VP8DescriptorRewriter.Saved()
        if let fields = rewrite.vp8, let vp8 {
            saved = VP8DescriptorRewriter.apply(fields, to: packet.payload, descriptor: vp8)
        }
        let sent: Bool
        if let rtx {
            if let copy = rtx.wrap(packet.packet) {
                sent = transmit(copy, now: now)
                if sent { rtx.countSent(bytes: copy.count) }
            } else {
                sent = false
            }
        } else {
            sent = transmit(packet.bytes, now: now)
        }
        if let vp8 { VP8DescriptorRewriter.restore(saved, in: packet.payload, descriptor: vp8) }
        packet.ssrc = originalSSRC
        packet.payloadType = originalPT
        packet.sequenceNumber = originalSequence
        packet.timestamp = originalTimestamp
        packet.marker = originalMarker
        if !sent { sendFailures += 1 }
        return sent
    }

    /// Sends `bytes` (a rewritten packet) stamped with the next transport-wide sequence number,
    /// or with the publisher's extensions hidden; the bytes are as before on return.
    @inline(__always)
    private func transmit(_ bytes: UnsafeMutableRawBufferPointer, now: UInt64) -> Bool {
        var mask = ExtensionBlockMask()
        var stamp = TransportSequenceStamp()
        if let history = sendHistory, history.isEnabled, TransportSequenceStamp.fits(bytes) {
            // The stamp hides the publisher's elements too.
            stamp.write(history.record(size: bytes.count, now: now), id: history.extensionID, in: bytes)
        } else if hidesHeaderExtensions {
            mask.hide(in: bytes)
        }
        let sent = transport.sendRTP(UnsafeRawBufferPointer(bytes))
        stamp.restore(in: bytes)
        mask.restore(in: bytes)
        return sent
    }

    // MARK: RTCP from the subscriber

    /// Answers a generic NACK item (lost `packetID` plus the 16 after it flagged in `bitmask`)
    /// from the packet cache of the layer each packet was sent from.
    public func retransmit(packetID: UInt16, bitmask: UInt16, now: UInt64 = 0) {
        guard isStarted else { return }
        retransmit(outgoing: packetID, now: now)
        var mask = bitmask
        var i: UInt16 = 1
        while mask != 0 {
            if mask & 1 != 0 { retransmit(outgoing: packetID &+ i, now: now) }
            mask >>= 1
            i += 1
        }
    }

    private func retransmit(outgoing: UInt16, now: UInt64) {
        let record = history[Int(outgoing) & (Self.historySize - 1)]
        guard record.valid, record.outgoing == outgoing, Int(record.layer) < track.caches.count else {
            retransmissionMisses += 1
            return
        }
        let sent: Bool? = track.caches[Int(record.layer)].withPacket(sequenceNumber: record.incoming) { bytes in
            guard let packet = try? MutableRTPPacket(bytes) else { return false }
            let vp8 = record.rewrite.vp8 != nil ? try? VP8PayloadDescriptor(parsing: packet.packet.payload) : nil
            return send(packet, record.rewrite, vp8: vp8, now: now, repairingOn: retransmissionStream)
        }
        if sent == true { retransmissions += 1 } else { retransmissionMisses += 1 }
    }

    // MARK: Probing

    /// Probe packets sent so far.
    public private(set) var probePacketsSent = 0

    /// Asks for a probe cluster of `packets` padding packets under `id`: sent after the next
    /// frame's last packet, or now when nothing is being forwarded (paused: no frame to split).
    /// Returns false when this DownTrack cannot carry one (no transport-wide sequence numbers, or
    /// nothing sent yet to continue from).
    @discardableResult
    public func requestProbe(packets: Int, id: UInt8, now: UInt64) -> Bool {
        guard let history = sendHistory, history.isEnabled, isActive, isStarted, packets > 0 else { return false }
        probePending = packets
        probeID = id
        if forwarder.currentLayer == nil { sendProbe(now: now) }
        return true
    }

    /// The cluster: padding-only packets (RFC 3550 padding, 255 octets, no payload) with
    /// sequence numbers of their own, each stamped and recorded for the estimator. Back to back:
    /// how the bottleneck spreads them is its rate. With RTX they go on the RTX stream (as
    /// libwebrtc's own probes do), so the media stream's numbering carries media only; without,
    /// on this stream's SSRC with sequence numbers the forwarder sets aside.
    private func sendProbe(now: UInt64) {
        let count = probePending
        probePending = 0
        guard let history = sendHistory, history.isEnabled else { return }
        let first: UInt16, timestamp: UInt32, streamPayloadType: UInt8, streamSSRC: UInt32
        if let rtx = retransmissionStream {
            first = rtx.reserveSequenceNumbers(count)
            (timestamp, streamPayloadType, streamSSRC) = (lastOutgoingTimestamp, rtx.payloadType, rtx.ssrc)
        } else {
            guard let reserved = forwarder.reservePadding(count: count) else { return }
            (first, timestamp) = (reserved.sequenceNumber, reserved.timestamp)
            (streamPayloadType, streamSSRC) = (payloadType, ssrc)
        }
        let paddingLength = 255
        let size = 12 + 8 + paddingLength
        let bytes = UnsafeMutableRawBufferPointer(rebasing: history.paddingBuffer[0..<size])
        bytes[0] = 0x80 | 0x20 | 0x10  // version 2, padding, extension
        bytes[1] = streamPayloadType & 0x7F
        bytes.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
        bytes.storeBytes(of: streamSSRC.bigEndian, toByteOffset: 8, as: UInt32.self)
        bytes[12] = 0xBE; bytes[13] = 0xDE; bytes[14] = 0; bytes[15] = 1
        for index in 20..<(size - 1) { bytes[index] = 0 }
        bytes[size - 1] = UInt8(paddingLength)
        for index in 0..<count {
            let sequence = first &+ UInt16(truncatingIfNeeded: index)
            bytes.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
            let transportSequence = history.record(size: size, now: now, probeID: probeID)
            bytes[16] = history.extensionID << 4 | 1
            bytes[17] = UInt8(truncatingIfNeeded: transportSequence >> 8)
            bytes[18] = UInt8(truncatingIfNeeded: transportSequence)
            bytes[19] = 0
            if transport.sendRTP(UnsafeRawBufferPointer(bytes)) { probePacketsSent += 1 }
        }
    }

    /// A publisher sender report about `layer`: when that layer is the one forwarded, the
    /// subscriber gets ours, with the timestamp moved into the outgoing stream's timeline.
    func receiveSenderReport(ntp: UInt64, rtpTimestamp: UInt32, layer: Int) {
        forwarder.setSenderReport(layer: layer, ntpTimestamp: ntp, rtpTimestamp: rtpTimestamp)
        guard forwarder.currentLayer == layer else { return }
        let translated = rtpTimestamp &+ (lastOutgoingTimestamp &- lastIncomingTimestamp)
        let report = RTCPSenderReport(ssrc: ssrc, ntpTimestamp: ntp, rtpTimestamp: translated,
                                      packetCount: packetsSent, octetCount: octetsSent)
        if RTCPScratchBuffer.send(to: transport, { report.write(into: &$0) }) {
            senderReportsSent += 1
        }
    }

    /// Tells the subscriber this source ended (RTCP BYE).
    public func sendGoodbye() {
        let ssrc = self.ssrc
        RTCPScratchBuffer.send(to: transport) { RTCPGoodbye.write(ssrcs: CollectionOfOne(ssrc), into: &$0) }
    }
}
