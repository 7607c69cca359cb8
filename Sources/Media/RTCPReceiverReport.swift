/// Receiver report (RFC 3550 §6.4.2, PT 201): loss and jitter the sender of this packet observed.
public struct RTCPReceiverReport: Sendable, Equatable {
    /// SSRC of the reporter (the SFU uses a dedicated RTCP-only SSRC or a receiving track's).
    public var ssrc: UInt32
    public var reportBlocks: [RTCPReportBlock]

    public init(ssrc: UInt32, reportBlocks: [RTCPReportBlock] = []) {
        self.ssrc = ssrc
        self.reportBlocks = reportBlocks
    }

    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        self.init(try RTCPReceiverReportView(view))
    }

    public init(_ report: RTCPReceiverReportView) {
        ssrc = report.ssrc
        reportBlocks = Array(report.reportBlocks)
    }

    public func write(to out: inout [UInt8]) {
        out.appendRTCP(length: 8 + min(reportBlocks.count, 31) * RTCPReportBlock.length) { write(into: &$0) }
    }

    @discardableResult
    public func write(into writer: inout RTCPBufferWriter) -> Bool {
        Self.write(ssrc: ssrc, reportBlocks: reportBlocks, into: &writer)
    }

    /// Writes a receiver report from its parts, so a sender needs no array of blocks (pass a
    /// buffer, or `CollectionOfOne`). At most 31 blocks; returns false (writing nothing) when it
    /// does not fit.
    @inlinable
    @discardableResult
    public static func write(ssrc: UInt32, reportBlocks: some Collection<RTCPReportBlock>,
                             into writer: inout RTCPBufferWriter) -> Bool {
        let blocks = reportBlocks.prefix(31)
        let count = blocks.count
        guard let body = writer.beginPacket(count: UInt8(count), packetType: RTCPPacketType.receiverReport,
                                            length: 8 + count * RTCPReportBlock.length) else { return false }
        body.put32(ssrc, at: 0)
        var offset = 4
        for block in blocks {
            block.write(into: body, at: offset)
            offset += RTCPReportBlock.length
        }
        return true
    }
}
