/// The report blocks of an SR or RR, read one at a time from the packet's bytes: the
/// non-allocating counterpart of `reportBlocks` arrays, for the media thread, where a receiver
/// report arrives every second or so from each subscriber.
public struct RTCPReportBlockIterator: IteratorProtocol, Sequence {
    private let blocks: UnsafeRawBufferPointer
    public let count: Int
    private var index = 0

    /// `blocks` starts at the first block; the caller checked that it holds `count` of them.
    init(_ blocks: UnsafeRawBufferPointer, count: Int) {
        self.blocks = blocks
        self.count = count
    }

    public mutating func next() -> RTCPReportBlock? {
        guard index < count else { return nil }
        defer { index += 1 }
        return RTCPReportBlock(blocks, at: index * RTCPReportBlock.length)
    }

    public var underestimatedCount: Int { count - index }
}
