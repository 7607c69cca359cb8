/// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb: PSFB, FMT 15, "REMB").
/// Chrome still honours it from an SFU to cap a publisher when TWCC is not negotiated.
///
///     | sender SSRC | media SSRC (0) | 'R' 'E' 'M' 'B' | num SSRC | exp(6) mantissa(18) | SSRCs...
public struct RTCPReceiverEstimatedMaxBitrate: Sendable, Equatable {
    public static let format: UInt8 = 15
    @usableFromInline static let identifier: UInt32 = 0x5245_4D42  // "REMB"

    public var senderSSRC: UInt32
    /// Bits per second. On the wire it is mantissa << exponent, so large values lose precision;
    /// `write` rounds down, never up, so the peer never gets a cap above what we meant.
    public var bitrate: UInt64
    public var ssrcs: [UInt32]

    public init(senderSSRC: UInt32, bitrate: UInt64, ssrcs: [UInt32]) {
        self.senderSSRC = senderSSRC
        self.bitrate = bitrate
        self.ssrcs = ssrcs
    }

    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        self.init(try RTCPReceiverEstimatedMaxBitrateView(view))
    }

    public init(_ remb: RTCPReceiverEstimatedMaxBitrateView) {
        senderSSRC = remb.senderSSRC
        bitrate = remb.bitrate
        ssrcs = Array(remb.ssrcs)
    }

    /// Is this PSFB FMT 15 view a REMB? (FMT 15 is "application layer feedback", shared.)
    public static func isREMB(_ view: RTCPPacketView) -> Bool {
        view.packetType == RTCPPacketType.payloadFeedback && view.format == format
            && view.body.count >= 12 && view.body.u32(8) == identifier
    }

    public func write(to out: inout [UInt8]) {
        out.appendRTCP(length: 20 + 4 * min(ssrcs.count, 255)) { write(into: &$0) }
    }

    @discardableResult
    public func write(into writer: inout RTCPBufferWriter) -> Bool {
        Self.write(senderSSRC: senderSSRC, bitrate: bitrate, ssrcs: ssrcs, into: &writer)
    }

    /// Writes a REMB from its parts, so a sender needs no array of SSRCs (pass a buffer). At most
    /// 255 SSRCs; returns false (writing nothing) when it does not fit.
    @inlinable
    @discardableResult
    public static func write(senderSSRC: UInt32, bitrate: UInt64, ssrcs: some Collection<UInt32>,
                             into writer: inout RTCPBufferWriter) -> Bool {
        var exponent: UInt64 = 0
        while bitrate >> exponent > 0x3_FFFF { exponent += 1 }
        let mantissa = UInt32(bitrate >> exponent)
        let list = ssrcs.prefix(255)
        guard let body = writer.beginPacket(count: format, packetType: RTCPPacketType.payloadFeedback,
                                            length: 20 + 4 * list.count) else { return false }
        body.put32(senderSSRC, at: 0)
        body.put32(identifier, at: 8)
        body[12] = UInt8(list.count)
        body.put24(UInt32(exponent) << 18 | mantissa, at: 13)
        var offset = 16
        for ssrc in list {
            body.put32(ssrc, at: offset)
            offset += 4
        }
        return true
    }
}
