import Media

/// Opus over RTP (RFC 7587): each payload is one Opus packet, so every packet is a frame and a
/// decoder can start anywhere. Loss just leaves a hole in the timeline.
public final class OpusDepacketizer: Depacketizer {
    public private(set) var framesEmitted = 0

    public init() {}

    public var needsKeyframe: Bool { false }

    public func push(_ packet: RTPPacket, lostBefore: Int, emit: (EncodedFrame) -> Void) {
        let payload = packet.payload
        // An empty payload carries no TOC byte: nothing a decoder could use.
        guard !payload.isEmpty else { return }
        framesEmitted += 1
        emit(EncodedFrame(data: payload, rtpTimestamp: packet.timestamp, isKeyframe: true))
    }

    public func reset() {}
}
