import Testing
@testable import Media

@Suite struct RTCPPacketTests {
    func roundTrip(_ packet: RTCPPacket) throws -> [UInt8] {
        var out: [UInt8] = []
        packet.write(to: &out)
        #expect(out.count % 4 == 0)
        let parsed = try RTCPPacket.parseCompound(out)
        #expect(parsed == [packet])
        return out
    }

    @Test func senderReportKnownBytes() throws {
        let bytes = hex("""
            81 C8 00 0C  00 00 00 01
            E5 0B 2E 10 80 00 00 00  00 01 5F 90  00 00 00 0A  00 00 04 00
            00 00 00 02  19 FF FF FE  00 01 00 20  00 00 00 05  2E 10 80 00  00 00 80 00
            """)
        let packets = try RTCPPacket.parseCompound(bytes)
        guard case .senderReport(let sr) = packets.first else { Issue.record("not an SR"); return }
        #expect(sr.ssrc == 1)
        #expect(sr.ntpTimestamp == 0xE50B_2E10_8000_0000)
        #expect(sr.compactNTP == 0x2E10_8000)
        #expect(sr.rtpTimestamp == 90000)
        #expect(sr.packetCount == 10)
        #expect(sr.octetCount == 1024)
        #expect(sr.reportBlocks.count == 1)
        let block = sr.reportBlocks[0]
        #expect(block.ssrc == 2)
        #expect(block.fractionLost == 0x19)
        #expect(block.cumulativeLost == -2)  // 24-bit two's complement
        #expect(block.extendedHighestSequenceNumber == 0x0001_0020)
        #expect(block.jitter == 5)
        #expect(block.lastSenderReport == 0x2E10_8000)
        #expect(block.delaySinceLastSenderReport == 0x8000)
        #expect(try roundTrip(packets[0]) == bytes)
    }

    @Test func receiverReportRoundTrip() throws {
        let rr = RTCPReceiverReport(ssrc: 9, reportBlocks: [
            RTCPReportBlock(ssrc: 1, fractionLost: 255, cumulativeLost: 0x7FFFFF, extendedHighestSequenceNumber: 70000, jitter: 3, lastSenderReport: 4, delaySinceLastSenderReport: 5),
            RTCPReportBlock(ssrc: 2, cumulativeLost: -0x800000),
        ])
        let bytes = try roundTrip(.receiverReport(rr))
        #expect(bytes[0] == 0x82)
        #expect(bytes[1] == 201)
        #expect(bytes.count == 8 + 2 * 24)
        // Out-of-range loss is clamped rather than wrapped.
        var out: [UInt8] = []
        RTCPReceiverReport(ssrc: 1, reportBlocks: [RTCPReportBlock(ssrc: 2, cumulativeLost: 10_000_000)]).write(to: &out)
        guard case .receiverReport(let parsed) = try RTCPPacket.parseCompound(out)[0] else { Issue.record(); return }
        #expect(parsed.reportBlocks[0].cumulativeLost == 0x7FFFFF)
    }

    @Test func emptyReceiverReport() throws {
        let bytes = hex("80 C9 00 01 00 00 00 2A")
        #expect(try RTCPPacket.parseCompound(bytes) == [.receiverReport(RTCPReceiverReport(ssrc: 42))])
    }

    @Test func sdesCNAME() throws {
        // One chunk: ssrc 0x11223344, CNAME "abcd", null terminator, padded to 4 bytes.
        let bytes = hex("81 CA 00 03  11 22 33 44  01 04 61 62  63 64 00 00")
        let packets = try RTCPPacket.parseCompound(bytes)
        guard case .sourceDescription(let sdes) = packets[0] else { Issue.record(); return }
        #expect(sdes.chunks.count == 1)
        #expect(sdes.chunks[0].ssrc == 0x1122_3344)
        #expect(sdes.chunks[0].cname == "abcd")
        #expect(try roundTrip(packets[0]) == bytes)
        _ = try roundTrip(.sourceDescription(RTCPSourceDescription(chunks: [
            .init(ssrc: 1, items: [.init(type: 1, value: Array("x".utf8)), .init(type: 6, value: Array("sluice".utf8))]),
            .init(ssrc: 2, items: [.init(type: 1, value: Array("0123456789abcdef".utf8))]),
        ])))
    }

    @Test func sdesMissingTerminatorIsError() {
        let bytes = hex("81 CA 00 02  11 22 33 44  01 02 61 62")
        #expect(throws: RTCPParseError.self) { try RTCPPacket.parseCompound(bytes) }
    }

    @Test func byeRoundTrip() throws {
        _ = try roundTrip(.goodbye(RTCPGoodbye(ssrcs: [1, 2])))
        let bytes = try roundTrip(.goodbye(RTCPGoodbye(ssrcs: [3], reason: "left")))
        #expect(bytes == hex("81 CB 00 03 00 00 00 03 04 6C 65 66 74 00 00 00"))
    }

    @Test func pliKnownBytes() throws {
        let bytes = hex("81 CE 00 02  00 00 00 00  4B C4 FC B4")
        let packets = try RTCPPacket.parseCompound(bytes)
        #expect(packets == [.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 0, mediaSSRC: 0x4BC4_FCB4))])
        #expect(try roundTrip(packets[0]) == bytes)
    }

    @Test func firRoundTrip() throws {
        let fir = RTCPFullIntraRequest(senderSSRC: 1, entries: [.init(ssrc: 0x1234, sequenceNumber: 7), .init(ssrc: 5, sequenceNumber: 255)])
        let bytes = try roundTrip(.fullIntraRequest(fir))
        #expect(bytes[0] == 0x84)
        #expect(Array(bytes[12..<20]) == hex("00 00 12 34 07 00 00 00"))
    }

    @Test func nackKnownBytesAndExpansion() throws {
        // PID 10, BLP 0b101 -> 10, 11, 13
        let bytes = hex("81 CD 00 03  00 00 00 01  00 00 00 02  00 0A 00 05")
        let packets = try RTCPPacket.parseCompound(bytes)
        guard case .genericNACK(let nack) = packets[0] else { Issue.record(); return }
        #expect(nack.lostSequenceNumbers == [10, 11, 13])
        #expect(try roundTrip(packets[0]) == bytes)
        var seen: [UInt16] = []
        try firstRTCPView(bytes) { view in
            try RTCPGenericNACK.forEachLostSequenceNumber(in: view) { seen.append($0) }
        }
        #expect(seen == [10, 11, 13])
    }

    @Test(arguments: [
        [UInt16(5)],
        [1, 2, 3, 17],
        [1, 18],
        [65530, 65535, 0, 3, 10, 11],
        Array(100..<200),
        [7, 7, 8],
    ])
    func nackBuildFromList(lost: [UInt16]) throws {
        let nack = RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: lost)
        var unique: [UInt16] = []
        for s in lost where !unique.contains(s) { unique.append(s) }
        #expect(nack.lostSequenceNumbers == unique)
        _ = try roundTrip(.genericNACK(nack))
        if lost == [1, 2, 3, 17] { #expect(nack.items == [.init(packetID: 1, bitmask: 0x8003)]) }
        if lost == [1, 18] { #expect(nack.items.count == 2) }
    }

    @Test func rembKnownBytes() throws {
        // Vector with exp 6, mantissa 0x220DF = 139487 -> 8_927_168 bps.
        let bytes: [UInt8] = [143, 206, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 82, 69, 77, 66, 1, 26, 32, 223, 72, 116, 237, 22]
        let packets = try RTCPPacket.parseCompound(bytes)
        #expect(packets == [.receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 8_927_168, ssrcs: [0x4874_ED16]))])
        #expect(try roundTrip(packets[0]) == bytes)
    }

    @Test(arguments: [UInt64(0), 1, 0x3FFFF, 0x40000, 1_500_000, 1_000_000_000, UInt64(0x3FFFF) << 40])
    func rembBitrateEncodingNeverRoundsUp(bitrate: UInt64) throws {
        var out: [UInt8] = []
        RTCPReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: bitrate, ssrcs: [1, 2, 3]).write(to: &out)
        guard case .receiverEstimatedMaxBitrate(let remb) = try RTCPPacket.parseCompound(out)[0] else { Issue.record(); return }
        #expect(remb.bitrate <= bitrate)
        #expect(Double(remb.bitrate) >= Double(bitrate) * (1 - 1.0 / 0x20000))
        #expect(remb.ssrcs == [1, 2, 3])
    }

    @Test func rembWithoutIdentifierIsOtherFeedback() throws {
        let bytes: [UInt8] = [143, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 65, 66, 67, 68]
        guard case .other(let raw) = try RTCPPacket.parseCompound(bytes)[0] else { Issue.record(); return }
        #expect(raw.packetType == 206)
        #expect(raw.count == 15)
    }

    @Test func compoundIterationAndSerialization() throws {
        let packets: [RTCPPacket] = [
            .receiverReport(RTCPReceiverReport(ssrc: 1, reportBlocks: [RTCPReportBlock(ssrc: 2, fractionLost: 3)])),
            .sourceDescription(RTCPSourceDescription(ssrc: 1, cname: "sluice")),
            .pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2)),
            .genericNACK(RTCPGenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: [4, 6])),
            .receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 300_000, ssrcs: [2])),
            .other(RTCPRawPacket(count: 0, packetType: 204, body: Array("name".utf8) + [1, 2, 3, 4])),
            .goodbye(RTCPGoodbye(ssrcs: [1])),
        ]
        let bytes = RTCPPacket.serialize(packets)
        #expect(try RTCPPacket.parseCompound(bytes) == packets)
        bytes.withUnsafeBytes { buffer in
            var iterator = RTCPCompoundIterator(buffer)
            var types: [UInt8] = []
            while let view = iterator.next() { types.append(view.packetType) }
            #expect(types == [201, 202, 206, 205, 206, 204, 203])
            #expect(iterator.error == nil)
        }
    }

    @Test func compoundStopsAtBadPacketKeepingEarlierOnes() {
        let good = RTCPPacket.serialize([.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2))])
        let bytes = good + hex("81 C9 00 09 00 00")  // length runs past the end
        bytes.withUnsafeBytes { buffer in
            var iterator = RTCPCompoundIterator(buffer)
            var count = 0
            while iterator.next() != nil { count += 1 }
            #expect(count == 1)
            #expect(iterator.error == .truncated)
        }
        #expect(throws: RTCPParseError.truncated) { try RTCPPacket.parseCompound(bytes) }
    }

    @Test func rtcpPaddingIsRemovedFromBody() throws {
        // PLI with P bit and 4 bytes of padding (length 3 words).
        let bytes = hex("A1 CE 00 03 00 00 00 01 00 00 00 02 00 00 00 04")
        #expect(try RTCPPacket.parseCompound(bytes) == [.pictureLossIndication(RTCPPictureLossIndication(senderSSRC: 1, mediaSSRC: 2))])
        #expect(throws: RTCPParseError.badPadding) { try RTCPPacket.parseCompound(hex("A1 CE 00 02 00 00 00 01 00 00 00 09")) }
    }

    @Test(arguments: [
        (hex("81 CE 00 01 00 00 00 01"), RTCPParseError.badLength(packetType: 206, format: 1)),  // PLI without media SSRC
        (hex("81 C8 00 01 00 00 00 01"), .badLength(packetType: 200, format: 1)),
        (hex("82 C9 00 07 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"), .badLength(packetType: 201, format: 2)),
        (hex("41 CE 00 02 00 00 00 01 00 00 00 02"), .badVersion(1)),
        (hex("81 CD 00 02 00 00 00 01 00 00 00 02"), .badLength(packetType: 205, format: 1)),  // NACK without items
        (hex("84 CE 00 03 00 00 00 01 00 00 00 00 00 00 00 01"), .badLength(packetType: 206, format: 4)),
        (hex("8F CE 00 04 00 00 00 01 00 00 00 00 52 45 4D 42 02 00 00 00"), .badLength(packetType: 206, format: 15)),
    ])
    func rejectsMalformed(bytes: [UInt8], expected: RTCPParseError) {
        #expect(throws: expected) { try RTCPPacket.parseCompound(bytes) }
    }
}
