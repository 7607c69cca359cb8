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
        let body = view.body
        let count = Int(view.count)
        guard body.count >= 4 + count * RTCPReportBlock.length else {
            throw .badLength(packetType: view.packetType, format: view.count)
        }
        ssrc = body.u32(0)
        reportBlocks = RTCPReportBlock.parseBlocks(body, at: 4, count: count)
    }

    public func write(to out: inout [UInt8]) {
        let blocks = reportBlocks.prefix(31)
        let start = RTCPWriter.beginPacket(count: UInt8(blocks.count), packetType: RTCPPacketType.receiverReport, to: &out)
        out.append32(ssrc)
        for block in blocks { block.write(to: &out) }
        RTCPWriter.endPacket(start: start, to: &out)
    }
}
