/// Sender report (RFC 3550 §6.4.1, PT 200). The SFU uses the NTP/RTP pair to align timestamps
/// across simulcast layers and to answer RTT via LSR/DLSR.
public struct RTCPSenderReport: Sendable, Equatable {
    public var ssrc: UInt32
    /// 64-bit NTP timestamp (seconds since 1900 in the high 32 bits, fraction in the low 32).
    public var ntpTimestamp: UInt64
    public var rtpTimestamp: UInt32
    public var packetCount: UInt32
    public var octetCount: UInt32
    public var reportBlocks: [RTCPReportBlock]

    public init(
        ssrc: UInt32, ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32,
        reportBlocks: [RTCPReportBlock] = []
    ) {
        self.ssrc = ssrc
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reportBlocks = reportBlocks
    }

    /// The middle 32 bits of the NTP timestamp, as echoed back in report blocks' LSR.
    public var compactNTP: UInt32 { UInt32(truncatingIfNeeded: ntpTimestamp >> 16) }

    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        let body = view.body
        let count = Int(view.count)
        guard body.count >= 24 + count * RTCPReportBlock.length else {
            throw .badLength(packetType: view.packetType, format: view.count)
        }
        ssrc = body.u32(0)
        ntpTimestamp = body.u64(4)
        rtpTimestamp = body.u32(12)
        packetCount = body.u32(16)
        octetCount = body.u32(20)
        // Profile-specific extensions after the blocks are ignored, as RFC 3550 allows.
        reportBlocks = RTCPReportBlock.parseBlocks(body, at: 24, count: count)
    }

    public func write(to out: inout [UInt8]) {
        let blocks = reportBlocks.prefix(31)
        let start = RTCPWriter.beginPacket(count: UInt8(blocks.count), packetType: RTCPPacketType.senderReport, to: &out)
        out.append32(ssrc)
        out.append64(ntpTimestamp)
        out.append32(rtpTimestamp)
        out.append32(packetCount)
        out.append32(octetCount)
        for block in blocks { block.write(to: &out) }
        RTCPWriter.endPacket(start: start, to: &out)
    }
}
