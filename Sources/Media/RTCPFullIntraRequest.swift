/// Full intra request (RFC 5104 §4.3.1: PSFB, FMT 4). Older than PLI in WebRTC usage but still
/// sent by some endpoints; each entry carries its own command sequence number so a repeated
/// request can be told apart from a retransmitted one.
public struct RTCPFullIntraRequest: Sendable, Equatable {
    public static let format: UInt8 = 4

    public struct Entry: Sendable, Equatable {
        /// The media sender asked for a keyframe.
        public var ssrc: UInt32
        public var sequenceNumber: UInt8
        public init(ssrc: UInt32, sequenceNumber: UInt8) {
            self.ssrc = ssrc
            self.sequenceNumber = sequenceNumber
        }
    }

    public var senderSSRC: UInt32
    /// RFC 5104 says this "SHALL be set to 0"; kept as read so re-serialization is exact.
    public var mediaSSRC: UInt32
    public var entries: [Entry]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32 = 0, entries: [Entry]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.entries = entries
    }

    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        let body = view.body
        guard body.count >= 8, (body.count - 8) % 8 == 0 else { throw .badLength(packetType: view.packetType, format: view.format) }
        senderSSRC = body.u32(0)
        mediaSSRC = body.u32(4)
        entries = stride(from: 8, to: body.count, by: 8).map { Entry(ssrc: body.u32($0), sequenceNumber: body[$0 + 4]) }
    }

    public func write(to out: inout [UInt8]) {
        let start = RTCPWriter.beginPacket(count: Self.format, packetType: RTCPPacketType.payloadFeedback, to: &out)
        out.append32(senderSSRC)
        out.append32(mediaSSRC)
        for entry in entries {
            out.append32(entry.ssrc)
            out.append(entry.sequenceNumber)
            out.append24(0)
        }
        RTCPWriter.endPacket(start: start, to: &out)
    }
}
