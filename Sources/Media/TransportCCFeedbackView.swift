/// Transport-wide CC feedback read in place: its header and how many of the reported packets
/// arrived, with the chunk and delta layout checked as `TransportCCFeedback` checks it, but with no
/// allocation (that type builds arrays of every symbol and delta). Enough for the media thread to
/// record what a subscriber's estimator is told; a bandwidth estimator wanting every arrival time
/// parses the full `TransportCCFeedback`.
public struct TransportCCFeedbackView {
    public let senderSSRC: UInt32
    public let mediaSSRC: UInt32
    public let baseSequenceNumber: UInt16
    /// Packets the feedback reports on, from `baseSequenceNumber`.
    public let packetStatusCount: UInt16
    /// Signed 24-bit value in multiples of 64 ms.
    public let referenceTime: Int32
    public let feedbackPacketCount: UInt8
    /// Reported packets that arrived (small or large delta).
    public let receivedCount: Int
    /// The body, kept for `forEachPacket` (valid as long as the packet bytes are).
    private let body: UnsafeRawBufferPointer
    /// Where the receive deltas start in `body`: after the last status chunk.
    private let deltasStart: Int

    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        let body = view.body
        let bad = RTCPParseError.malformed(packetType: view.packetType, format: view.format)
        guard body.count >= 16 else { throw .badLength(packetType: view.packetType, format: view.format) }
        senderSSRC = body.u32(0)
        mediaSSRC = body.u32(4)
        baseSequenceNumber = body.u16(8)
        packetStatusCount = body.u16(10)
        referenceTime = Int32(bitPattern: body.u24(12) << 8) >> 8
        feedbackPacketCount = body[15]
        self.body = body

        // Each chunk costs 2 bytes of the body, so the walk ends within body.count / 2 chunks
        // whatever the counts claim.
        let statusCount = Int(packetStatusCount)
        var symbols = 0
        var received = 0
        var deltaBytes = 0
        var offset = 16
        while symbols < statusCount {
            guard offset + 2 <= body.count else { throw bad }
            let chunk = body.u16(offset)
            offset += 2
            let remaining = statusCount - symbols
            if chunk & 0x8000 == 0 {
                // Run-length chunk: 0 | symbol(2) | run length(13).
                let symbol = Int(chunk >> 13 & 0x3)
                let run = min(Int(chunk & 0x1FFF), remaining)
                guard symbol != 3 || chunk & 0x1FFF == 0 else { throw bad }
                if symbol != 0 { received += run }
                deltaBytes += symbol * run
                symbols += run
            } else if chunk & 0x4000 == 0 {
                // Status vector, 14 one-bit symbols (received-small / not received).
                for i in 0..<min(14, remaining) where chunk >> (13 - i) & 0x1 != 0 {
                    received += 1
                    deltaBytes += 1
                }
                symbols += min(14, remaining)
            } else {
                // Status vector, 7 two-bit symbols.
                for i in 0..<min(7, remaining) {
                    let symbol = Int(chunk >> (12 - 2 * i) & 0x3)
                    guard symbol != 3 else { throw bad }
                    if symbol != 0 { received += 1 }
                    deltaBytes += symbol
                }
                symbols += min(7, remaining)
            }
        }
        guard offset + deltaBytes <= body.count else { throw bad }
        receivedCount = received
        deltasStart = offset
    }

    /// Calls `body` for every reported packet in sequence order: its transport-wide sequence
    /// number and, when it arrived, its arrival time in microseconds on the receiver's clock
    /// (reference time plus the running sum of deltas; only differences between arrivals mean
    /// anything). Walks the chunks again (`init` checked them and noted where the deltas start)
    /// instead of keeping arrays: no allocation, for a send-side estimator on the media thread.
    public func forEachPacket(_ visit: (_ sequenceNumber: UInt16, _ arrivalMicroseconds: Int64?) -> Void) {
        let statusCount = Int(packetStatusCount)
        var deltaOffset = deltasStart
        var arrival = Int64(referenceTime) * 64_000
        var sequence = baseSequenceNumber
        func report(_ symbol: Int) {
            switch symbol {
            case 1:
                arrival += Int64(body[deltaOffset]) * 250
                deltaOffset += 1
                visit(sequence, arrival)
            case 2:
                arrival += Int64(Int16(bitPattern: body.u16(deltaOffset))) * 250
                deltaOffset += 2
                visit(sequence, arrival)
            default:
                visit(sequence, nil)
            }
            sequence &+= 1
        }
        var symbols = 0
        var offset = 16
        while symbols < statusCount {
            let chunk = body.u16(offset)
            offset += 2
            let remaining = statusCount - symbols
            if chunk & 0x8000 == 0 {
                let symbol = Int(chunk >> 13 & 0x3)
                let run = min(Int(chunk & 0x1FFF), remaining)
                for _ in 0..<run { report(symbol) }
                symbols += run
            } else if chunk & 0x4000 == 0 {
                let count = min(14, remaining)
                for i in 0..<count { report(Int(chunk >> (13 - i) & 0x1)) }
                symbols += count
            } else {
                let count = min(7, remaining)
                for i in 0..<count { report(Int(chunk >> (12 - 2 * i) & 0x3)) }
                symbols += count
            }
        }
    }
}
