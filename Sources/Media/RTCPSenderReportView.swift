/// A sender report read in place: its sender info and an iterator over its report blocks, with no
/// allocation. `RTCPSenderReport` is the same packet as a value (its blocks in an array).
public struct RTCPSenderReportView {
    public let ssrc: UInt32
    public let ntpTimestamp: UInt64
    public let rtpTimestamp: UInt32
    public let packetCount: UInt32
    public let octetCount: UInt32
    /// Valid while the packet's bytes are.
    public let reportBlocks: RTCPReportBlockIterator

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
        reportBlocks = RTCPReportBlockIterator(body.slice(24, count * RTCPReportBlock.length), count: count)
    }
}
