/// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01:
/// RTPFB, FMT 15). Tells a sender when each transport-sequence-numbered packet arrived, so it can
/// run its bandwidth estimator (GCC). The SFU both parses these (from subscribers) and builds them
/// (towards publishers).
///
///     | sender SSRC | media SSRC | base seq (16) | status count (16) | ref time (24, signed, x64ms) | fb pkt count (8) |
///     | packet chunks (16 bits each) ... | recv deltas (8 or 16 bits each, x250us) ... | padding |
public struct TransportCCFeedback: Sendable, Equatable {
    public static let format: UInt8 = 15
    /// Receive-delta resolution.
    public static let deltaTickMicroseconds: Int64 = 250
    /// Reference-time resolution.
    public static let referenceTimeMicroseconds: Int64 = 64_000

    /// Packet status symbols as encoded in chunks.
    public enum Symbol: UInt8, Sendable {
        case notReceived = 0
        /// Received; delta fits one unsigned byte (0 ... 63.75 ms).
        case smallDelta = 1
        /// Received; delta needs two signed bytes (negative or > 63.75 ms).
        case largeDelta = 2
    }

    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    public var baseSequenceNumber: UInt16
    /// Signed 24-bit value in multiples of 64 ms.
    public var referenceTime: Int32
    /// Incremented per feedback packet sent, so the sender can detect lost feedback.
    public var feedbackPacketCount: UInt8
    /// One entry per packet starting at `baseSequenceNumber`: the receive delta in 250 us ticks
    /// relative to the previous received packet (the first relative to `referenceTime`), or nil
    /// when the packet was not received.
    public var receiveDeltas: [Int16?]

    public init(
        senderSSRC: UInt32, mediaSSRC: UInt32, baseSequenceNumber: UInt16, referenceTime: Int32,
        feedbackPacketCount: UInt8, receiveDeltas: [Int16?]
    ) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.baseSequenceNumber = baseSequenceNumber
        self.referenceTime = referenceTime
        self.feedbackPacketCount = feedbackPacketCount
        self.receiveDeltas = receiveDeltas
    }

    /// Builds feedback from arrival times (microseconds on any monotonic clock; nil = lost), one
    /// per sequence number from `baseSequenceNumber`. Deltas are quantized against the running
    /// quantized time so rounding never accumulates. Returns nil when a gap between consecutive
    /// arrivals does not fit 16 bits of 250 us (about +-8 s): split the feedback there instead.
    public init?(
        senderSSRC: UInt32, mediaSSRC: UInt32, baseSequenceNumber: UInt16, feedbackPacketCount: UInt8,
        arrivalTimesMicroseconds arrivals: [Int64?]
    ) {
        guard let first = arrivals.lazy.compactMap({ $0 }).first else { return nil }
        // Floor division so negative clocks still put the reference at or before the first arrival.
        var reference = first / Self.referenceTimeMicroseconds
        if first % Self.referenceTimeMicroseconds < 0 { reference -= 1 }
        var previous = reference * Self.referenceTimeMicroseconds
        // The wire field is 24-bit signed and wraps; the sender only uses differences.
        let wrapped = ((reference % 0x100_0000) + 0x100_0000) % 0x100_0000
        let signedReference = wrapped >= 0x80_0000 ? wrapped - 0x100_0000 : wrapped
        var deltas: [Int16?] = []
        deltas.reserveCapacity(arrivals.count)
        for arrival in arrivals {
            guard let arrival else {
                deltas.append(nil)
                continue
            }
            // Reject absurd gaps before arithmetic that could overflow.
            let (diff, overflow) = arrival.subtractingReportingOverflow(previous)
            guard !overflow, diff.magnitude < 1 << 40 else { return nil }
            let ticks = (diff >= 0 ? diff + Self.deltaTickMicroseconds / 2 : diff - Self.deltaTickMicroseconds / 2) / Self.deltaTickMicroseconds
            guard let delta = Int16(exactly: ticks) else { return nil }
            deltas.append(delta)
            previous += ticks * Self.deltaTickMicroseconds
        }
        self.init(
            senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, baseSequenceNumber: baseSequenceNumber,
            referenceTime: Int32(signedReference), feedbackPacketCount: feedbackPacketCount, receiveDeltas: deltas)
    }

    /// Arrival time of each packet in microseconds (reference time x 64 ms + cumulative deltas),
    /// nil for lost packets. Same indexing as `receiveDeltas`.
    public var arrivalTimesMicroseconds: [Int64?] {
        var time = Int64(referenceTime) * Self.referenceTimeMicroseconds
        return receiveDeltas.map { delta in
            guard let delta else { return nil }
            time += Int64(delta) * Self.deltaTickMicroseconds
            return time
        }
    }

    static func symbol(for delta: Int16?) -> Symbol {
        guard let delta else { return .notReceived }
        return (0...255).contains(delta) ? .smallDelta : .largeDelta
    }

    // MARK: Parsing

    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        let body = view.body
        let bad = RTCPParseError.malformed(packetType: view.packetType, format: view.format)
        guard body.count >= 16 else { throw .badLength(packetType: view.packetType, format: view.format) }
        senderSSRC = body.u32(0)
        mediaSSRC = body.u32(4)
        baseSequenceNumber = body.u16(8)
        let statusCount = Int(body.u16(10))
        referenceTime = Int32(bitPattern: body.u24(12) << 8) >> 8
        feedbackPacketCount = body[15]

        var symbols: [UInt8] = []
        symbols.reserveCapacity(statusCount)
        var offset = 16
        while symbols.count < statusCount {
            guard offset + 2 <= body.count else { throw bad }
            let chunk = body.u16(offset)
            offset += 2
            let remaining = statusCount - symbols.count
            if chunk & 0x8000 == 0 {
                // Run-length chunk: 0 | symbol(2) | run length(13).
                let symbol = UInt8(chunk >> 13 & 0x3)
                let run = Int(chunk & 0x1FFF)
                guard symbol != 3 || run == 0 else { throw bad }
                for _ in 0..<min(run, remaining) { symbols.append(symbol) }
            } else if chunk & 0x4000 == 0 {
                // Status vector, 14 one-bit symbols (received-small / not received).
                for i in 0..<min(14, remaining) { symbols.append(UInt8(chunk >> (13 - i) & 0x1)) }
            } else {
                // Status vector, 7 two-bit symbols.
                for i in 0..<min(7, remaining) {
                    let symbol = UInt8(chunk >> (12 - 2 * i) & 0x3)
                    guard symbol != 3 else { throw bad }
                    symbols.append(symbol)
                }
            }
        }

        var deltas: [Int16?] = []
        deltas.reserveCapacity(statusCount)
        for symbol in symbols {
            switch symbol {
            case 1:
                guard offset + 1 <= body.count else { throw bad }
                deltas.append(Int16(body[offset]))
                offset += 1
            case 2:
                guard offset + 2 <= body.count else { throw bad }
                deltas.append(Int16(bitPattern: body.u16(offset)))
                offset += 2
            default:
                deltas.append(nil)
            }
        }
        receiveDeltas = deltas
    }

    // MARK: Serializing

    /// Encodes chunks greedily: a run of >= 14 equal symbols (or >= 7 when a two-bit vector would
    /// be needed anyway) becomes a run-length chunk, otherwise the densest vector that fits.
    public func write(to out: inout [UInt8]) {
        let deltas = receiveDeltas.prefix(0xFFFF)
        let symbols = deltas.map { Self.symbol(for: $0).rawValue }
        let start = RTCPWriter.beginPacket(count: Self.format, packetType: RTCPPacketType.transportFeedback, to: &out)
        out.append32(senderSSRC)
        out.append32(mediaSSRC)
        out.append16(baseSequenceNumber)
        out.append16(UInt16(symbols.count))
        out.append24(UInt32(bitPattern: referenceTime) & 0xFF_FFFF)
        out.append(feedbackPacketCount)

        var i = 0
        while i < symbols.count {
            var run = 1
            while i + run < symbols.count, symbols[i + run] == symbols[i], run < 0x1FFF { run += 1 }
            let window = symbols[i..<min(i + 14, symbols.count)]
            let fitsOneBit = !window.contains(2)
            if run >= 14 || (run >= 7 && !fitsOneBit) || (run == symbols.count - i && run > 1) {
                out.append16(UInt16(symbols[i]) << 13 | UInt16(run))
                i += run
            } else if fitsOneBit {
                var chunk: UInt16 = 0x8000
                for (k, symbol) in window.enumerated() { chunk |= UInt16(symbol) << (13 - k) }
                out.append16(chunk)
                i += window.count
            } else {
                var chunk: UInt16 = 0xC000
                let pairs = symbols[i..<min(i + 7, symbols.count)]
                for (k, symbol) in pairs.enumerated() { chunk |= UInt16(symbol) << (12 - 2 * k) }
                out.append16(chunk)
                i += pairs.count
            }
        }
        for delta in deltas {
            guard let delta else { continue }
            if (0...255).contains(delta) {
                out.append(UInt8(delta))
            } else {
                out.append16(UInt16(bitPattern: delta))
            }
        }
        // Pad with the RTCP padding mechanism (count in the last byte) as libwebrtc does.
        let padding = (4 - (out.count - start) % 4) % 4
        if padding > 0 {
            out.append(contentsOf: repeatElement(0, count: padding - 1))
            out.append(UInt8(padding))
            out[start] |= 0x20
        }
        RTCPWriter.endPacket(start: start, to: &out)
    }
}
