import Media

/// One track a participant publishes (one SSRC, no simulcast yet): receives its RTP on the room's
/// executor, keeps recent packets for NACK answers, and fans each packet out to its DownTracks.
/// Loop-confined; owned by its `Room`.
public final class PublishedTrack {
    public let id: String
    public let kind: TrackKind
    public let codec: TrackCodec
    /// Media SSRC; from the publisher's SDP, or learned from the first packet.
    public internal(set) var ssrc: UInt32?
    public let cache: PacketCache
    /// The publisher's transport, for keyframe requests.
    public private(set) weak var publisherTransport: (any MediaTransport)?
    /// The SSRC we sign our feedback with.
    public let feedbackSSRC: UInt32

    public internal(set) var downTracks: [DownTrack] = []
    public private(set) var throttle: KeyframeRequestThrottle

    public private(set) var packetsReceived = 0
    public private(set) var bytesReceived = 0
    public private(set) var malformedPackets = 0
    public private(set) var foreignSSRCPackets = 0
    public private(set) var senderReportsForwarded = 0

    private let codecIsVP8: Bool
    private let codecIsH264: Bool

    public init(id: String = SessionID.track(), kind: TrackKind, codec: TrackCodec, ssrc: UInt32?,
                publisherTransport: (any MediaTransport)?, feedbackSSRC: UInt32 = 1,
                keyframeRequestInterval: UInt64 = 500_000_000, cacheCapacity: Int? = nil) {
        self.id = id
        self.kind = kind
        self.codec = codec
        self.ssrc = ssrc
        self.publisherTransport = publisherTransport
        self.feedbackSSRC = feedbackSSRC
        self.throttle = KeyframeRequestThrottle(intervalNanoseconds: keyframeRequestInterval)
        self.cache = PacketCache(capacity: cacheCapacity ?? (kind == .video ? 1024 : 128))
        codecIsVP8 = codec.isVP8
        codecIsH264 = codec.isH264
    }

    // MARK: Media in

    /// One RTP packet from the publisher (plain, already unprotected). `bytes` is the receive
    /// buffer: it is rewritten in place per subscriber and restored before this returns.
    public func receive(_ bytes: UnsafeMutableRawBufferPointer, now: UInt64) {
        let packet: MutableRTPPacket
        do { packet = try MutableRTPPacket(bytes) } catch { malformedPackets += 1; return }
        if let ssrc {
            guard packet.ssrc == ssrc else { foreignSSRCPackets += 1; return }
        } else {
            ssrc = packet.ssrc
        }
        packetsReceived += 1
        bytesReceived += bytes.count
        cache.insert(UnsafeRawBufferPointer(bytes), sequenceNumber: packet.sequenceNumber)

        var keyframeKnown = false
        var keyframe = false
        var someoneWaits = false
        for downTrack in downTracks where downTrack.isActive {
            if downTrack.waitingForKeyframe {
                if !keyframeKnown {
                    keyframe = isKeyframeStart(packet.packet)
                    keyframeKnown = true
                }
                if !keyframe {
                    someoneWaits = true
                    downTrack.packetsSkippedBeforeKeyframe += 1
                    continue
                }
            }
            downTrack.forward(packet)
        }
        // The publisher may have missed (or not yet had) our request: ask again, throttled.
        if someoneWaits { requestKeyframe(now: now) }
    }

    /// True when `packet` starts a frame a decoder can begin with.
    public func isKeyframeStart(_ packet: RTPPacket) -> Bool {
        if kind == .audio { return true }
        let payload = packet.payload
        if codecIsVP8 {
            guard let descriptor = try? VP8PayloadDescriptor(parsing: payload) else { return false }
            return descriptor.isKeyframe
        }
        if codecIsH264 { return H264Payload.isKeyframe(payload) }
        return true
    }

    // MARK: RTCP

    /// Sends a PLI to the publisher unless one went out within the throttle interval.
    /// Returns true when a PLI was sent.
    @discardableResult
    public func requestKeyframe(now: UInt64) -> Bool {
        guard kind == .video, let ssrc, let transport = publisherTransport else { return false }
        guard throttle.shouldSend(now: now) else { return false }
        return RTCPStackWriter.withPLI(sender: feedbackSSRC, media: ssrc) { transport.sendRTCP($0) }
    }

    /// A sender report from the publisher: each started DownTrack sends its own (same NTP/RTP
    /// pair, since timestamps pass through unchanged; its own SSRC and counts).
    public func receiveSenderReport(ntp: UInt64, rtpTimestamp: UInt32) {
        for downTrack in downTracks where downTrack.isStarted && downTrack.isActive {
            downTrack.sendSenderReport(ntp: ntp, rtpTimestamp: rtpTimestamp)
        }
        senderReportsForwarded += 1
    }

    // MARK: Subscribers

    func add(_ downTrack: DownTrack) {
        downTracks.append(downTrack)
    }

    func remove(_ downTrack: DownTrack) {
        downTracks.removeAll { $0 === downTrack }
    }
}
