import Testing
@testable import Media

/// The in-place views (what the media thread parses with) read what the value parsers read and
/// reject what they reject; `RTCPBufferWriter` writes what the array serializers write.
@Suite struct RTCPViewTests {
    func withViews<R>(_ bytes: [UInt8], _ body: ([RTCPPacketView]) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { buffer in
            try body(Array(RTCPCompoundIterator(buffer)))
        }
    }

    let blocks = [
        RTCPReportBlock(ssrc: 1, fractionLost: 25, cumulativeLost: -2, extendedHighestSequenceNumber: 0x1_0020, jitter: 5,
                        lastSenderReport: 6, delaySinceLastSenderReport: 7),
        RTCPReportBlock(ssrc: 2, fractionLost: 255, cumulativeLost: 0x7F_FFFF),
    ]

    @Test func senderReportViewIteratesBlocksInPlace() throws {
        let sr = RTCPSenderReport(ssrc: 9, ntpTimestamp: 0x1122_3344_5566_7788, rtpTimestamp: 90000, packetCount: 10,
                                  octetCount: 1024, reportBlocks: blocks)
        var bytes: [UInt8] = []
        sr.write(to: &bytes)
        try withViews(bytes) { views in
            let view = try RTCPSenderReportView(views[0])
            #expect(view.ssrc == 9 && view.ntpTimestamp == 0x1122_3344_5566_7788 && view.rtpTimestamp == 90000)
            #expect(view.packetCount == 10 && view.octetCount == 1024)
            #expect(view.reportBlocks.count == 2 && Array(view.reportBlocks) == blocks)
        }
    }

    @Test func receiverReportViewIteratesBlocksInPlace() throws {
        var bytes: [UInt8] = []
        RTCPReceiverReport(ssrc: 3, reportBlocks: blocks).write(to: &bytes)
        try withViews(bytes) { views in
            let view = try RTCPReceiverReportView(views[0])
            #expect(view.ssrc == 3 && Array(view.reportBlocks) == blocks)
        }
    }

    @Test(arguments: [
        // RC 2 but room for one block.
        "82 C9 00 07  00 00 00 01  00 00 00 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
        // SR cut inside its sender info.
        "80 C8 00 03  00 00 00 01  00 00 00 00 00 00 00 00",
    ])
    func reportCountOverrunningThePacketIsRejected(text: String) throws {
        let bytes = hex(text)
        withViews(bytes) { views in
            #expect(views.count == 1)
            if views[0].packetType == RTCPPacketType.senderReport {
                #expect(throws: RTCPParseError.self) { try RTCPSenderReportView(views[0]) }
            } else {
                #expect(throws: RTCPParseError.self) { try RTCPReceiverReportView(views[0]) }
            }
        }
        #expect(throws: RTCPParseError.self) { try RTCPPacket.parseCompound(bytes) }
    }

    @Test func nackViewIteratesItems() throws {
        let nack = RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 2, items: [.init(packetID: 10, bitmask: 5), .init(packetID: 65535, bitmask: 0)])
        var bytes: [UInt8] = []
        nack.write(to: &bytes)
        try withViews(bytes) { views in
            let view = try RTCPGenericNACKView(views[0])
            #expect(view.senderSSRC == 1 && view.mediaSSRC == 2 && view.items.count == 2)
            #expect(Array(view.items) == nack.items)
        }
        // No FCI item, and an FCI cut mid-item.
        for bad in ["81 CD 00 02 00 00 00 01 00 00 00 02", "81 CD 00 03 00 00 00 01 00 00 00 02 00 0A"] {
            _ = withViews(hex(bad)) { views in
                #expect(views.isEmpty || (try? RTCPGenericNACKView(views[0])) == nil)
            }
        }
    }

    @Test func firViewIteratesEntries() throws {
        let fir = RTCPFullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: 0x1234, sequenceNumber: 7), .init(ssrc: 5, sequenceNumber: 255)])
        var bytes: [UInt8] = []
        fir.write(to: &bytes)
        try withViews(bytes) { views in
            let view = try RTCPFullIntraRequestView(views[0])
            #expect(view.senderSSRC == 1 && Array(view.entries) == fir.entries)
        }
        withViews(hex("84 CE 00 03 00 00 00 01 00 00 00 00 00 00 12 34")) { views in
            #expect(throws: RTCPParseError.self) { try RTCPFullIntraRequestView(views[0]) }
        }
    }

    @Test func rembViewReadsBitrateAndSSRCs() throws {
        let bytes: [UInt8] = [143, 206, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 82, 69, 77, 66, 1, 26, 32, 223, 72, 116, 237, 22]
        try withViews(bytes) { views in
            let view = try RTCPReceiverEstimatedMaxBitrateView(views[0])
            #expect(view.senderSSRC == 1 && view.bitrate == 8_927_168 && Array(view.ssrcs) == [0x4874_ED16])
        }
        // Claims 3 SSRCs, carries 1.
        var overrun = bytes
        overrun[16] = 3
        withViews(overrun) { views in
            #expect(throws: RTCPParseError.self) { try RTCPReceiverEstimatedMaxBitrateView(views[0]) }
        }
    }

    @Test func transportCCViewCountsWhatArrived() throws {
        let feedback = TransportCCFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 65530, referenceTime: -3,
                                           feedbackPacketCount: 7,
                                           receiveDeltas: [1, nil, 300, -2, nil, nil, 4] + Array(repeating: 3, count: 20))
        var bytes: [UInt8] = []
        feedback.write(to: &bytes)
        try withViews(bytes) { views in
            let view = try TransportCCFeedbackView(views[0])
            #expect(view.senderSSRC == 1 && view.mediaSSRC == 2 && view.baseSequenceNumber == 65530)
            #expect(view.packetStatusCount == 27 && view.referenceTime == -3 && view.feedbackPacketCount == 7)
            #expect(view.receivedCount == 24)
        }
        // Deltas cut off: the chunks promise more bytes than the packet has.
        var cut = bytes
        cut.removeLast(8)
        cut[0] &= ~0x20  // no padding left to speak of
        cut[2] = 0
        cut[3] = UInt8(cut.count / 4 - 1)
        withViews(cut) { views in
            #expect(throws: RTCPParseError.self) { try TransportCCFeedbackView(views[0]) }
            #expect(throws: RTCPParseError.self) { try TransportCCFeedback(views[0]) }
        }
    }

    /// Random feedback: the view accepts exactly what the full parser accepts and counts the
    /// same arrivals.
    @Test func transportCCViewAgreesWithTheFullParser() {
        var rng = SplitMix64(seed: 16)
        for _ in 0..<2000 {
            let count = Int.random(in: 1...60, using: &rng)
            let deltas: [Int16?] = (0..<count).map { _ in
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: nil
                case 1: Int16.random(in: -500...(-1), using: &rng)
                default: Int16.random(in: 0...255, using: &rng)
                }
            }
            var bytes: [UInt8] = []
            TransportCCFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 3, referenceTime: 4, feedbackPacketCount: 5,
                                receiveDeltas: deltas).write(to: &bytes)
            let mutated = Bool.random(using: &rng) ? rng.mutate(bytes) : bytes
            mutated.withUnsafeBytes { buffer in
                guard let view = try? RTCPPacketView(first: buffer) else { return }
                let full = try? TransportCCFeedback(view)
                let inPlace = try? TransportCCFeedbackView(view)
                #expect((full == nil) == (inPlace == nil), "\(mutated)")
                if let full, let inPlace {
                    #expect(full.receiveDeltas.count(where: { $0 != nil }) == inPlace.receivedCount)
                    // The in-place walk gives every packet's arrival as the full parser does.
                    var walked: [Int64?] = []
                    var sequences: [UInt16] = []
                    inPlace.forEachPacket { sequence, arrival in
                        sequences.append(sequence)
                        walked.append(arrival)
                    }
                    #expect(walked == full.arrivalTimesMicroseconds)
                    #expect(sequences == (0..<full.receiveDeltas.count).map { full.baseSequenceNumber &+ UInt16($0) })
                }
            }
        }
    }

    // MARK: Writing into a buffer

    @Test func bufferWriterBuildsACompoundPacketTheArraySerializersAgreeWith() throws {
        let rr = RTCPReceiverReport(ssrc: 7, reportBlocks: blocks)
        let remb = RTCPReceiverEstimatedMaxBitrate(senderSSRC: 7, bitrate: 6_000_000, ssrcs: [1, 2])
        let pli = RTCPPictureLossIndication(senderSSRC: 7, mediaSSRC: 1)
        let nack = RTCPGenericNACK(senderSSRC: 7, mediaSSRC: 1, items: [.init(packetID: 3, bitmask: 1)])
        let sr = RTCPSenderReport(ssrc: 8, ntpTimestamp: 1, rtpTimestamp: 2, packetCount: 3, octetCount: 4)
        let bye = RTCPGoodbye(ssrcs: [8], reason: "gone")
        let fir = RTCPFullIntraRequest(senderSSRC: 7, entries: [.init(ssrc: 1, sequenceNumber: 2)])
        let expected = RTCPPacket.serialize([
            .receiverReport(rr), .receiverEstimatedMaxBitrate(remb), .pictureLossIndication(pli), .genericNACK(nack),
            .senderReport(sr), .goodbye(bye), .fullIntraRequest(fir),
        ])
        let written = withUnsafeTemporaryAllocation(byteCount: 512, alignment: 4) { buffer -> [UInt8] in
            var writer = RTCPBufferWriter(buffer)
            #expect(RTCPReceiverReport.write(ssrc: 7, reportBlocks: blocks, into: &writer))
            #expect(RTCPReceiverEstimatedMaxBitrate.write(senderSSRC: 7, bitrate: 6_000_000, ssrcs: [1, 2], into: &writer))
            #expect(pli.write(into: &writer))
            #expect(RTCPGenericNACK.write(senderSSRC: 7, mediaSSRC: 1, items: CollectionOfOne(.init(packetID: 3, bitmask: 1)),
                                          into: &writer))
            #expect(sr.write(into: &writer))
            #expect(RTCPGoodbye.write(ssrcs: CollectionOfOne(8), reason: Array("gone".utf8), into: &writer))
            #expect(fir.write(into: &writer))
            #expect(!writer.overflowed)
            return Array(writer.written)
        }
        #expect(written == expected)
        let parsed = try RTCPPacket.parseCompound(written)
        #expect(parsed.count == 7)
    }

    @Test func bufferWriterRefusesWhatDoesNotFitAndKeepsWhatDid() {
        withUnsafeTemporaryAllocation(byteCount: 20, alignment: 4) { buffer in
            var writer = RTCPBufferWriter(buffer)
            #expect(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2).write(into: &writer))
            #expect(!RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 3).write(into: &writer))
            #expect(writer.overflowed && writer.count == 12)
            #expect((try? RTCPPacket.parseCompound(writer.written)) == [.pictureLossIndication(.init(senderSSRC: 1, mediaSSRC: 2))])
            writer.reset()
            #expect(writer.count == 0 && !writer.overflowed)
        }
    }
}
