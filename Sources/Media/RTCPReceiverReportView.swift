/// A receiver report read in place: the reporter's SSRC and an iterator over its report blocks,
/// with no allocation. `RTCPReceiverReport` is the same packet as a value.
public struct RTCPReceiverReportView {
    public let ssrc: UInt32
    /// Valid while the packet's bytes are.
    public let reportBlocks: RTCPReportBlockIterator

    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        let body = view.body
        let count = Int(view.count)
        guard body.count >= 4 + count * RTCPReportBlock.length else {
            throw .badLength(packetType: view.packetType, format: view.count)
        }
        ssrc = body.u32(0)
        reportBlocks = RTCPReportBlockIterator(body.slice(4, count * RTCPReportBlock.length), count: count)
    }
}
