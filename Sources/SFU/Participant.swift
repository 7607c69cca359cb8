import Media

/// A participant's media side in a `Room`: its transport, the tracks it publishes and the
/// DownTracks it receives. Loop-confined; owned by its `Room`.
public final class Participant {
    public let sid: String
    public let identity: String
    /// Where RTCP about its published tracks (PLI, NACK) goes.
    public let publisherTransport: any MediaTransport
    /// Where its DownTracks send. LiveKit clients use a second peer connection for this;
    /// WHIP/WHEP sessions use one for both.
    public let subscriberTransport: any MediaTransport
    public internal(set) var publishedTracks: [PublishedTrack] = []
    public internal(set) var downTracks: [DownTrack] = []
    /// A stand-in for a participant served by another worker's room: its tracks are mirrors
    /// fed by relays, whose packets its own room already counted.
    public var isRelayCopy = false

    public private(set) var receiverReports = 0
    public private(set) var keyframeRequests = 0
    public private(set) var nackItems = 0
    /// Feedback we do not act on: other PSFB/RTPFB formats, or NACKs about a source it does not
    /// receive from us.
    public private(set) var unknownFeedback = 0
    /// RTCP packets that did not parse (bad lengths, counts overrunning the packet, truncation).
    public private(set) var malformedRTCP = 0

    public convenience init(sid: String = SessionID.participant(), identity: String, transport: any MediaTransport) {
        self.init(sid: sid, identity: identity, publisherTransport: transport, subscriberTransport: transport)
    }

    public init(sid: String = SessionID.participant(), identity: String, publisherTransport: any MediaTransport,
                subscriberTransport: any MediaTransport) {
        self.sid = sid
        self.identity = identity
        self.publisherTransport = publisherTransport
        self.subscriberTransport = subscriberTransport
    }

    public func publishedTrack(id: String) -> PublishedTrack? {
        publishedTracks.first { $0.id == id }
    }

    func downTrack(ssrc: UInt32) -> DownTrack? {
        for downTrack in downTracks where downTrack.ssrc == ssrc { return downTrack }
        return nil
    }

    /// The published track, and its layer, that an SSRC carries.
    func publishedTrack(ssrc: UInt32) -> (PublishedTrack, Int)? {
        for track in publishedTracks {
            if let layer = track.layer(ofSSRC: ssrc) { return (track, layer) }
        }
        return nil
    }

    /// Loss the subscriber reported (RTCP receiver reports about our DownTracks), 0...1, worst
    /// block of the latest report.
    public private(set) var downlinkLoss: Double = 0

    /// Shares its downlink estimate among its video tracks (see `Room.allocateDownlinks`).
    public internal(set) var downlinkAllocator = DownlinkAllocator()
    /// Its downlink estimate (TWCC feedback; REMB or receiver-report loss as fallbacks).
    public internal(set) var downlinkEstimator = DownlinkBandwidthEstimator()
    /// What its subscriber transport sent under each transport-wide sequence number; its
    /// DownTracks stamp and record there once the extension is negotiated.
    public let sendHistory = TransportSequenceHistory()
    /// Receiver reports since the last allocation: only fresh loss figures move the estimate
    /// of a viewer without TWCC or REMB.
    var freshReport = false
    /// Probing: the last cluster's id and when it went, and the interval before the next.
    var lastProbeID: UInt8 = 0
    var lastProbeAt: UInt64?
    public internal(set) var probesSent = 0
    /// Octets its DownTracks had sent at the last allocation, and when (for the send rate).
    var octetsAtAllocation: UInt64 = 0
    var allocatedAt: UInt64?
    /// Bits per second its DownTracks sent over the last allocation interval.
    public internal(set) var sendBitrate: Double = 0
    /// What the last allocation could give it (for its connection quality).
    public internal(set) var downlinkShortfall: ConnectionQualityScorer.Downlink = .sufficient

    /// The subscriber's latest REMB: the bitrate its receive-side estimator says it can take,
    /// bits/s (nil until one arrives), and when it came (the room's clock). For the downlink
    /// allocator; nothing acts on it yet.
    public private(set) var downlinkEstimate: UInt64?
    public private(set) var downlinkEstimateAt: UInt64?
    public private(set) var receiverEstimates = 0
    private var firstReceiverEstimateAt: UInt64?

    /// Transport-wide CC feedback from the subscriber: how many came, and the latest.
    public private(set) var transportFeedbackPackets = 0
    public private(set) var lastTransportFeedback: TransportFeedbackRecord?

    func countReceiverReport() { receiverReports += 1 }
    func receivedEstimate(bitrate: UInt64, now: UInt64) {
        downlinkEstimate = bitrate
        downlinkEstimateAt = now
        receiverEstimates += 1
        // Only for a viewer that gives no TWCC feedback, and only once its receiver has watched
        // the stream a while: libwebrtc's receive-side estimate starts far below what arrives.
        let first = firstReceiverEstimateAt ?? now
        firstReceiverEstimateAt = first
        if !sendHistory.isEnabled, now &- first >= 5_000_000_000 {
            downlinkEstimator.receiverEstimate(Double(bitrate), now: now)
        }
    }

    /// Runs the estimator over one TWCC feedback: every reported packet's send time and size
    /// come from the send history. No allocation.
    func estimate(from feedback: TransportCCFeedbackView, now: UInt64) {
        guard sendHistory.isEnabled else { return }
        let history = sendHistory
        feedback.forEachPacket { sequence, arrival in
            guard let sent = history.lookup(sequence) else { return }
            downlinkEstimator.packet(sentAt: sent.sentAt, size: Int(sent.size), arrival: arrival, probeID: sent.probeID)
        }
        downlinkEstimator.feedbackEnded(now: now)
    }
    func receivedTransportFeedback(_ record: TransportFeedbackRecord) {
        lastTransportFeedback = record
        transportFeedbackPackets += 1
    }
    func receivedReport(fractionLost: UInt8) {
        downlinkLoss = Double(fractionLost) / 256
        freshReport = true
    }
    func countKeyframeRequest() { keyframeRequests += 1 }
    func countNACKItem() { nackItems += 1 }
    func countUnknownFeedback() { unknownFeedback += 1 }
    func countMalformedRTCP() { malformedRTCP += 1 }
}
