import Testing
@testable import Media

/// Random and mutated inputs fed to every parser. The only assertion is that nothing traps (a
/// trap kills the test process) and that whatever parses also survives its own accessors.
@Suite struct FuzzTests {
    static let iterations = 5000

    func seeds() -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        let rtp = RTPPacketBuilder(
            marker: true, payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: [4],
            extensions: [RTPPacketBuilder.stringExtension(id: 1, "q"), RTPPacketBuilder.transportSequenceNumberExtension(id: 3, 9)],
            payload: hex("B0 F0 92 34 AB A5 50 00 9D 01 2A 80 02 68 01"), paddingLength: 3)
        seeds.append(try! rtp.bytes())
        var twoByte = rtp
        twoByte.forceTwoByteExtensions = true
        seeds.append(try! twoByte.bytes())
        seeds.append(RTCPPacket.serialize([
            .senderReport(RTCPSenderReport(ssrc: 1, ntpTimestamp: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5, reportBlocks: [RTCPReportBlock(ssrc: 9)])),
            .sourceDescription(RTCPSourceDescription(ssrc: 1, cname: "abc")),
            .goodbye(RTCPGoodbye(ssrcs: [1], reason: "x")),
            .fullIntraRequest(RTCPFullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: 2, sequenceNumber: 3)])),
            .genericNACK(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: [1, 3, 40])),
            .receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 1_000_000, ssrcs: [2])),
            .transportCC(TransportCCFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 5, referenceTime: 6, feedbackPacketCount: 7,
                                             receiveDeltas: [1, nil, 300, -2, nil, nil, 4] + Array(repeating: 3, count: 20))),
        ]))
        seeds.append(H264Payload.stapA([hex("67 42 00 1F"), hex("68 CE"), hex("65 88 84")])!)
        seeds.append(H264Payload.fuA([0x65] + Array(repeating: 7, count: 40), maxPayloadSize: 20)[0])
        return seeds
    }

    /// The in-place views the media thread uses: whatever parses also iterates, and each accepts
    /// what its value parser accepts.
    func exerciseViews(_ view: RTCPPacketView) {
        if let sr = try? RTCPSenderReportView(view) { _ = sr.reportBlocks.reduce(0) { $0 &+ $1.ssrc } }
        if let rr = try? RTCPReceiverReportView(view) { _ = rr.reportBlocks.reduce(0) { $0 &+ $1.ssrc } }
        if let nack = try? RTCPGenericNACKView(view) { _ = nack.items.reduce(0) { $0 &+ $1.packetID } }
        if let fir = try? RTCPFullIntraRequestView(view) { _ = fir.entries.reduce(0) { $0 &+ $1.ssrc } }
        if let remb = try? RTCPReceiverEstimatedMaxBitrateView(view) { _ = remb.ssrcs.reduce(remb.bitrate) { $0 &+ UInt64($1) } }
        let twcc = try? TransportCCFeedbackView(view)
        #expect((twcc == nil) == ((try? TransportCCFeedback(view)) == nil))
    }

    /// Exercises every parser and accessor on `bytes`.
    func exercise(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            if let p = try? RTPPacket(buffer) {
                _ = (p.marker, p.payloadType, p.sequenceNumber, p.timestamp, p.ssrc, p.payload.count)
                for i in 0..<p.csrcCount { _ = p.csrc(at: i) }
                for e in p.headerExtensions { _ = e.data.reduce(0, &+) }
                for id: UInt8 in [0, 1, 2, 3, 4, 14, 15, 200] {
                    _ = (p.mid(id: id), p.absSendTime(id: id), p.transportSequenceNumber(id: id), p.audioLevel(id: id), p.videoOrientation(id: id))
                }
                _ = RTPPacketBuilder(p)
                if let d = try? VP8PayloadDescriptor(parsing: p.payload) { _ = d.keyframeDimensions(in: p.payload) }
            }
            var iterator = RTCPCompoundIterator(buffer)
            while let view = iterator.next() {
                if let packet = try? RTCPPacket(view) {
                    var out: [UInt8] = []
                    packet.write(to: &out)
                    if case .genericNACK(let n) = packet { _ = n.lostSequenceNumbers }
                    if case .transportCC(let t) = packet { _ = t.arrivalTimesMicroseconds }
                }
                try? RTCPGenericNACK.forEachLostSequenceNumber(in: view) { _ in }
                exerciseViews(view)
            }
            _ = try? RTCPPacket.parseCompound(buffer)
            if let d = try? VP8PayloadDescriptor(parsing: buffer) { _ = d.keyframeDimensions(in: buffer) }
            if let h = try? H264Payload(buffer) {
                h.forEachNALUnit { _ = $0.count }
                _ = (h.isKeyframe, h.fragment)
            }
            if let toc = OpusTOC(payload: buffer) { _ = (toc.mode, toc.bandwidth, toc.packetDurationMicroseconds(in: buffer)) }
        }
        var rtx = bytes
        rtx.withUnsafeMutableBytes { _ = RTXPacket.unwrapInPlace($0, primaryPayloadType: 96, primarySSRC: 1) }
        var copy = bytes
        copy.withUnsafeMutableBytes { buffer in
            if let m = try? MutableRTPPacket(buffer) {
                m.sequenceNumber &+= 1
                m.setTransportSequenceNumber(1, id: 3)
                m.setAbsSendTime(1, id: 2)
                var scratch = [UInt8](repeating: 0, count: 128)
                scratch.withUnsafeMutableBytes { _ = RTXPacket.wrap(m.packet, into: $0, rtxPayloadType: 97, rtxSSRC: 1, rtxSequenceNumber: 2) }
                if let d = try? VP8PayloadDescriptor(parsing: UnsafeRawBufferPointer(m.payload)) {
                    d.rewrite(m.payload, pictureID: 0xFFFF, tl0PicIdx: 1, keyIndex: 2)
                }
            }
        }
    }

    @Test func randomBytesNeverTrap() {
        var rng = SplitMix64(seed: 1)
        for _ in 0..<Self.iterations {
            var bytes = rng.bytes(count: Int.random(in: 0...64, using: &rng))
            // Bias towards plausible first bytes so the deeper paths get reached.
            if !bytes.isEmpty, Bool.random(using: &rng) { bytes[0] = 0x80 | (bytes[0] & 0x3F) }
            if bytes.count > 1, Bool.random(using: &rng) { bytes[1] = UInt8.random(in: 200...206, using: &rng) }
            exercise(bytes)
        }
    }

    @Test func mutatedValidPacketsNeverTrap() {
        var rng = SplitMix64(seed: 2)
        let corpus = seeds()
        for _ in 0..<Self.iterations {
            var bytes = corpus[Int.random(in: 0..<corpus.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...3, using: &rng) { bytes = rng.mutate(bytes) }
            exercise(bytes)
        }
    }

    @Test func everyTruncationNeverTraps() {
        for seed in seeds() {
            for length in 0...seed.count { exercise(Array(seed.prefix(length))) }
        }
    }

    @Test func sdpMutationsNeverTrap() {
        var rng = SplitMix64(seed: 3)
        let lines = (chromeOffer + aiortcOffer).split(separator: "\r\n").map(String.init)
        let junk = ["", "=", "a=", "a=:", "m=", "a=rtpmap:", "a=rtpmap:96", "a=candidate:1", "a=ssrc:1", "a=fmtp:",
                    "a=extmap:1/bogus x", "a=simulcast:", "a=rid:", "a=ssrc-group:", "c=IN", "b=AS", "o=", "t=1",
                    "a=sctp-port:x", "m=audio 9", "a=msid:", "a=group:", "\u{0}", "é=ü", "a=rtcp-fb:", "a=setup:"]
        for _ in 0..<1000 {
            var doc = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0"]
            for _ in 0..<Int.random(in: 0...30, using: &rng) {
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    doc.append(junk.randomElement(using: &rng)!)
                } else {
                    var line = lines.randomElement(using: &rng)!
                    if !line.isEmpty, Bool.random(using: &rng) {
                        line = String(line.prefix(Int.random(in: 0...line.count, using: &rng)))
                    }
                    doc.append(line)
                }
            }
            let text = doc.joined(separator: "\r\n")
            if let parsed = try? SessionDescription(parsing: text) {
                // Whatever parses must serialize to text that parses again, and serializing is a
                // fixpoint after one pass (the first pass may regroup per-payload-type lines).
                let once = parsed.sdp
                let again = try? SessionDescription(parsing: once)
                #expect(again?.sdp == once, "input:\n\(text)\noutput:\n\(once)")
            }
        }
    }
}
