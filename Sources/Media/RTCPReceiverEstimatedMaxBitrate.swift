/// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb: PSFB, FMT 15, "REMB").
/// Chrome still honours it from an SFU to cap a publisher when TWCC is not negotiated.
///
///     | sender SSRC | media SSRC (0) | 'R' 'E' 'M' 'B' | num SSRC | exp(6) mantissa(18) | SSRCs...
public struct RTCPReceiverEstimatedMaxBitrate: Sendable, Equatable {
    public static let format: UInt8 = 15
    static let identifier: UInt32 = 0x5245_4D42  // "REMB"

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
        let body = view.body
        guard body.count >= 16 else { throw .badLength(packetType: view.packetType, format: view.format) }
        guard body.u32(8) == Self.identifier else { throw .malformed(packetType: view.packetType, format: view.format) }
        let count = Int(body[12])
        guard body.count >= 16 + count * 4 else { throw .badLength(packetType: view.packetType, format: view.format) }
        senderSSRC = body.u32(0)
        let exponent = UInt64(body[13] >> 2)
        let mantissa = UInt64(body.u24(13) & 0x3_FFFF)
        // Saturate instead of overflowing for absurd exponents.
        if mantissa != 0, exponent > UInt64(mantissa.leadingZeroBitCount) {
            bitrate = .max
        } else {
            bitrate = mantissa << exponent
        }
        ssrcs = (0..<count).map { body.u32(16 + $0 * 4) }
    }

    /// Is this PSFB FMT 15 view a REMB? (FMT 15 is "application layer feedback", shared.)
    public static func isREMB(_ view: RTCPPacketView) -> Bool {
        view.packetType == RTCPPacketType.payloadFeedback && view.format == format
            && view.body.count >= 12 && view.body.u32(8) == identifier
    }

    public func write(to out: inout [UInt8]) {
        var exponent: UInt64 = 0
        while bitrate >> exponent > 0x3_FFFF { exponent += 1 }
        let mantissa = UInt32(bitrate >> exponent)
        let list = ssrcs.prefix(255)
        let start = RTCPWriter.beginPacket(count: Self.format, packetType: RTCPPacketType.payloadFeedback, to: &out)
        out.append32(senderSSRC)
        out.append32(0)
        out.append32(Self.identifier)
        out.append(UInt8(list.count))
        out.append24(UInt32(exponent) << 18 | mantissa)
        for ssrc in list { out.append32(ssrc) }
        RTCPWriter.endPacket(start: start, to: &out)
    }
}
