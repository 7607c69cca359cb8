import Media

/// One published track as sent to one subscriber. Forwarding rewrites the header in place
/// (SSRC, payload type and sequence number to the subscriber's), sends, and restores the
/// original bytes (rewrite-send-restore): no copy, no allocation. Timestamps pass through.
/// Loop-confined; owned by its `Room`.
public final class DownTrack {
    public unowned let track: PublishedTrack
    public let subscriberID: String
    /// SSRC and payload type negotiated with the subscriber.
    public let ssrc: UInt32
    public let payloadType: UInt8
    public let transport: any MediaTransport

    public private(set) var sequence = SequenceNumberOffset()
    private let initialSequence: UInt16
    /// Video waits for a keyframe before it starts so the subscriber's decoder can begin.
    public internal(set) var waitingForKeyframe: Bool
    /// False until the subscriber's transport can carry media (see `Room.activate`): packets sent
    /// before that would be lost, and with them the keyframe the subscriber starts from.
    public internal(set) var isActive: Bool

    public private(set) var packetsSent: UInt32 = 0
    /// Payload octets sent (for sender reports).
    public private(set) var octetsSent: UInt32 = 0
    public private(set) var sendFailures = 0
    public private(set) var packetsDropped = 0
    public internal(set) var packetsSkippedBeforeKeyframe = 0
    public private(set) var retransmissions = 0
    public private(set) var retransmissionMisses = 0
    public private(set) var senderReportsSent = 0

    public init(track: PublishedTrack, subscriberID: String, ssrc: UInt32, payloadType: UInt8,
                transport: any MediaTransport, initialSequence: UInt16 = UInt16.random(in: 0...0x7FFF),
                active: Bool = true) {
        self.track = track
        self.subscriberID = subscriberID
        self.ssrc = ssrc
        self.payloadType = payloadType
        self.transport = transport
        self.initialSequence = initialSequence
        self.waitingForKeyframe = track.kind == .video
        self.isActive = active
    }

    public var isStarted: Bool { sequence.isStarted }

    /// Sends `packet` (the publisher's bytes) to the subscriber; the bytes are unchanged on return.
    @inline(__always)
    public func forward(_ packet: MutableRTPPacket) {
        let incoming = packet.sequenceNumber
        if !sequence.isStarted {
            sequence.start(incoming: incoming, outgoing: initialSequence)
            waitingForKeyframe = false
        }
        guard let outgoing = sequence.outgoing(for: incoming) else {
            packetsDropped += 1
            return
        }
        if send(packet, sequenceNumber: outgoing) {
            packetsSent &+= 1
            octetsSent &+= UInt32(truncatingIfNeeded: packet.packet.payloadLength)
        }
    }

    /// Rewrite, send, restore.
    @inline(__always)
    private func send(_ packet: MutableRTPPacket, sequenceNumber: UInt16) -> Bool {
        let originalSSRC = packet.ssrc
        let originalPT = packet.payloadType
        let originalSequence = packet.sequenceNumber
        packet.ssrc = ssrc
        packet.payloadType = payloadType
        packet.sequenceNumber = sequenceNumber
        let sent = transport.sendRTP(UnsafeRawBufferPointer(packet.bytes))
        packet.ssrc = originalSSRC
        packet.payloadType = originalPT
        packet.sequenceNumber = originalSequence
        if !sent { sendFailures += 1 }
        return sent
    }

    // MARK: RTCP from the subscriber

    /// Answers a generic NACK item (lost `packetID` plus the 16 after it flagged in `bitmask`)
    /// from the track's packet cache.
    public func retransmit(packetID: UInt16, bitmask: UInt16) {
        guard sequence.isStarted else { return }
        retransmit(outgoing: packetID)
        var mask = bitmask
        var i: UInt16 = 1
        while mask != 0 {
            if mask & 1 != 0 { retransmit(outgoing: packetID &+ i) }
            mask >>= 1
            i += 1
        }
    }

    private func retransmit(outgoing: UInt16) {
        let incoming = sequence.incoming(for: outgoing)
        let sent: Bool? = track.cache.withPacket(sequenceNumber: incoming) { bytes in
            guard let packet = try? MutableRTPPacket(bytes) else { return false }
            return send(packet, sequenceNumber: outgoing)
        }
        if sent == true { retransmissions += 1 } else { retransmissionMisses += 1 }
    }

    func sendSenderReport(ntp: UInt64, rtpTimestamp: UInt32) {
        let transport = self.transport
        if RTCPStackWriter.withSenderReport(ssrc: ssrc, ntp: ntp, rtpTimestamp: rtpTimestamp,
                                            packets: packetsSent, octets: octetsSent, { transport.sendRTCP($0) }) {
            senderReportsSent += 1
        }
    }

    /// Tells the subscriber this source ended (RTCP BYE).
    public func sendGoodbye() {
        let transport = self.transport
        RTCPStackWriter.withGoodbye(ssrc: ssrc) { transport.sendRTCP($0) }
    }
}
