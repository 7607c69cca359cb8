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
        self.init(try RTCPFullIntraRequestView(view))
    }

    public init(_ request: RTCPFullIntraRequestView) {
        senderSSRC = request.senderSSRC
        mediaSSRC = request.mediaSSRC
        entries = Array(request.entries)
    }

    /// Entries one packet can carry (its 16-bit length field).
    public static let maxEntries = 0x7FFE

    public func write(to out: inout [UInt8]) {
        out.appendRTCP(length: 12 + 8 * min(entries.count, Self.maxEntries)) { write(into: &$0) }
    }

    /// Returns false (writing nothing) when it does not fit.
    @discardableResult
    public func write(into writer: inout RTCPBufferWriter) -> Bool {
        let list = entries.prefix(Self.maxEntries)
        guard let body = writer.beginPacket(count: Self.format, packetType: RTCPPacketType.payloadFeedback,
                                            length: 12 + 8 * list.count) else { return false }
        body.put32(senderSSRC, at: 0)
        body.put32(mediaSSRC, at: 4)
        for (index, entry) in list.enumerated() {
            body.put32(entry.ssrc, at: 8 + 8 * index)
            body[12 + 8 * index] = entry.sequenceNumber
        }
        return true
    }
}
