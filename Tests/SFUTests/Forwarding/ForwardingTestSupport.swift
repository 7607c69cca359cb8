import Media
@testable import SFU

/// One simulcast layer of a synthetic publisher: frames of `packetsPerFrame` packets, 30 fps,
/// VP8 (15-bit picture id, TL0PICIDX, KEYIDX) or H.264 (no descriptor). Keeps extended counters
/// so tests can check the forwarder's output against ground truth.
struct LayerSource {
    var layer: Int
    var vp8 = true
    var packetsPerFrame = 3
    var timestampStep: Int64 = 3000
    var extSeq: Int64
    var extTimestamp: Int64
    var extPictureID: Int64 = 0
    var extTL0: Int64 = 0
    var extKeyIndex: Int64 = 0
    var widePictureID = true

    init(layer: Int, seq: UInt16, timestamp: UInt32, pictureID: UInt16 = 0, tl0: UInt8 = 0, keyIndex: UInt8 = 0,
         packetsPerFrame: Int = 3, vp8: Bool = true) {
        self.layer = layer
        self.extSeq = Int64(seq)
        self.extTimestamp = Int64(timestamp)
        self.extPictureID = Int64(pictureID)
        self.extTL0 = Int64(tl0)
        self.extKeyIndex = Int64(keyIndex)
        self.packetsPerFrame = packetsPerFrame
        self.vp8 = vp8
    }

    /// One generated packet and its ground truth.
    struct Generated {
        var packet: Forwarder.Packet
        var extSeq: Int64
        var extTimestamp: Int64
        var extPictureID: Int64?
        var extTL0: Int64?
        var extKeyIndex: Int64?
    }

    /// The next frame's packets, arriving from `arrival` on, 1 ms apart.
    mutating func frame(keyframe: Bool, arrival: Int64) -> [Generated] {
        if keyframe { extKeyIndex += 1 }
        var out: [Generated] = []
        for i in 0..<packetsPerFrame {
            var descriptor: VP8PayloadDescriptor?
            if vp8 {
                descriptor = VP8PayloadDescriptor(
                    startOfPartition: i == 0, pictureID: UInt16(truncatingIfNeeded: extPictureID) & (widePictureID ? 0x7FFF : 0x7F),
                    pictureIDIs15Bit: widePictureID, tl0PicIdx: UInt8(truncatingIfNeeded: extTL0),
                    temporalLayerID: 0, keyIndex: UInt8(truncatingIfNeeded: extKeyIndex) & 0x1F)
            }
            let packet = Forwarder.Packet(
                layer: layer, sequenceNumber: UInt16(truncatingIfNeeded: extSeq),
                timestamp: UInt32(truncatingIfNeeded: extTimestamp), marker: i == packetsPerFrame - 1,
                isKeyframe: keyframe && i == 0, vp8: descriptor, arrival: arrival + Int64(i) * 1_000_000)
            out.append(Generated(packet: packet, extSeq: extSeq, extTimestamp: extTimestamp,
                                 extPictureID: vp8 ? extPictureID : nil, extTL0: vp8 ? extTL0 : nil,
                                 extKeyIndex: vp8 ? extKeyIndex : nil))
            extSeq += 1
        }
        extTimestamp += timestampStep
        extPictureID += 1
        extTL0 += 1
        return out
    }

    /// A padding-only packet (bandwidth probe) with the next sequence number.
    mutating func padding(arrival: Int64) -> Generated {
        let packet = Forwarder.Packet(
            layer: layer, sequenceNumber: UInt16(truncatingIfNeeded: extSeq),
            timestamp: UInt32(truncatingIfNeeded: extTimestamp &- timestampStep), isPaddingOnly: true, arrival: arrival)
        defer { extSeq += 1 }
        return Generated(packet: packet, extSeq: extSeq, extTimestamp: extTimestamp - timestampStep)
    }
}

/// Feeds a forwarder and keeps everything that came out, extended, for invariant checks.
struct ForwardingRecorder {
    var forwarder: Forwarder
    struct Output {
        var input: LayerSource.Generated
        var rewrite: Forwarder.Rewrite
        var extSeq: Int64
        var extTimestamp: Int64
        var extPictureID: Int64?
        /// Increments at each anchor (start, switch, resume).
        var segment: Int
    }
    var outputs: [Output] = []
    var decisions: [(LayerSource.Generated, Forwarder.Decision)] = []
    var segment = 0
    var seqOut = WrapAroundUnwrapper()
    var tsOut = WrapAroundUnwrapper()
    var pidOut = WrapAroundUnwrapper()

    init(_ forwarder: Forwarder) { self.forwarder = forwarder }

    @discardableResult
    mutating func feed(_ generated: LayerSource.Generated) -> Forwarder.Decision {
        let decision = forwarder.process(generated.packet)
        decisions.append((generated, decision))
        if decision.layerSwitch != nil { segment += 1 }
        if let rewrite = decision.rewrite {
            let pid: Int64? = rewrite.vp8?.pictureID.map { pidOut.unwrap(UInt64($0), bits: 15) }
            outputs.append(Output(
                input: generated, rewrite: rewrite,
                extSeq: seqOut.unwrap(UInt64(rewrite.sequenceNumber), bits: 16),
                extTimestamp: tsOut.unwrap(UInt64(rewrite.timestamp), bits: 32),
                extPictureID: pid, segment: segment))
        }
        return decision
    }

    @discardableResult
    mutating func feed(_ packets: [LayerSource.Generated]) -> [Forwarder.Decision] {
        packets.map { feed($0) }
    }

    /// Problems with an in-order output: each forwarded packet's sequence number is the previous
    /// + 1 (plus upstream `lost` packets in between), timestamps never go back and move exactly
    /// with the source within a segment, picture ids do the same and step by 1 at a switch.
    func continuityProblems(lost: Set<Int64> = []) -> [String] {
        var problems: [String] = []
        for (a, b) in zip(outputs, outputs.dropFirst()) {
            let where_ = "out \(a.extSeq)->\(b.extSeq) (layer \(a.input.packet.layer)->\(b.input.packet.layer))"
            if a.segment == b.segment {
                let gap = (b.input.extSeq - a.input.extSeq - 1)
                let lostBetween = (a.input.extSeq + 1..<b.input.extSeq).filter { lost.contains($0) }.count
                if b.extSeq - a.extSeq - 1 != Int64(lostBetween) || gap < 0 { problems.append("seq gap \(where_)") }
                if b.extTimestamp - a.extTimestamp != b.input.extTimestamp - a.input.extTimestamp { problems.append("ts delta \(where_)") }
                if let pa = a.extPictureID, let pb = b.extPictureID, let ia = a.input.extPictureID, let ib = b.input.extPictureID,
                   pb - pa != ib - ia { problems.append("pid delta \(where_)") }
            } else {
                if b.extSeq != a.extSeq + 1 { problems.append("seq at switch \(where_)") }
                if b.extTimestamp <= a.extTimestamp { problems.append("ts at switch \(where_)") }
                if let pa = a.extPictureID, let pb = b.extPictureID, pb != pa + 1 { problems.append("pid at switch \(where_)") }
                if !b.input.packet.isKeyframe { problems.append("switch without keyframe \(where_)") }
            }
        }
        return problems
    }
}

/// SplitMix64: a tiny seeded generator, so property tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let frameInterval: Int64 = 33_333_333
