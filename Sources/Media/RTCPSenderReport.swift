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
        self.init(try RTCPSenderReportView(view))
    }

    public init(_ report: RTCPSenderReportView) {
        ssrc = report.ssrc
        ntpTimestamp = report.ntpTimestamp
        rtpTimestamp = report.rtpTimestamp
        packetCount = report.packetCount
        octetCount = report.octetCount
        reportBlocks = Array(report.reportBlocks)
    }

    /// Bytes on the wire (at most 31 blocks are written).
    public var length: Int { 28 + min(reportBlocks.count, 31) * RTCPReportBlock.length }

    public func write(to out: inout [UInt8]) {
        out.appendRTCP(length: length) { write(into: &$0) }
    }

    /// Returns false (writing nothing) when it does not fit. A report without blocks (what a
    /// sender that receives nothing sends) holds an empty array: no allocation.
    @discardableResult
    public func write(into writer: inout RTCPBufferWriter) -> Bool {
        let blocks = reportBlocks.prefix(31)
        guard let body = writer.beginPacket(count: UInt8(blocks.count), packetType: RTCPPacketType.senderReport,
                                            length: length) else { return false }
        body.put32(ssrc, at: 0)
        body.put32(UInt32(truncatingIfNeeded: ntpTimestamp >> 32), at: 4)
        body.put32(UInt32(truncatingIfNeeded: ntpTimestamp), at: 8)
        body.put32(rtpTimestamp, at: 12)
        body.put32(packetCount, at: 16)
        body.put32(octetCount, at: 20)
        for (index, block) in blocks.enumerated() { block.write(into: body, at: 24 + index * RTCPReportBlock.length) }
        return true
    }
}
