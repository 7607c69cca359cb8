import Testing
@testable import Media

@Suite struct RTPPacketTests {
    // V=2 P=0 X=0 CC=0 | M=1 PT=96 | seq=0x1234 | ts=0xDEADBEEF | ssrc=0x11223344 | payload 01 02 03
    let simple = hex("80 E0 12 34  DE AD BE EF  11 22 33 44  01 02 03")

    @Test func parsesFixedHeader() throws {
        try withRTP(simple) { p in
            #expect(p.version == 2)
            #expect(p.marker)
            #expect(p.payloadType == 96)
            #expect(p.sequenceNumber == 0x1234)
            #expect(p.timestamp == 0xDEAD_BEEF)
            #expect(p.ssrc == 0x1122_3344)
            #expect(p.csrcCount == 0)
            #expect(!p.hasExtension)
            #expect(p.extensionProfile == nil)
            #expect(Array(p.payload) == [1, 2, 3])
            #expect(p.headerLength == 12)
        }
    }

    @Test func parsesCSRCsAndPadding() throws {
        // P=1, CC=2; payload AA BB then 3 bytes of padding (count 3).
        let bytes = hex("A2 08 00 01  00 00 00 02  00 00 00 03  00 00 00 0A  00 00 00 0B  AA BB 00 00 03")
        try withRTP(bytes) { p in
            #expect(p.csrcCount == 2)
            #expect(p.csrc(at: 0) == 10)
            #expect(p.csrc(at: 1) == 11)
            #expect(p.csrc(at: 2) == nil)
            #expect(p.paddingLength == 3)
            #expect(Array(p.payload) == [0xAA, 0xBB])
        }
    }

    @Test func paddingOnlyPacketHasEmptyPayload() throws {
        let bytes = hex("A0 60 00 01  00 00 00 02  00 00 00 03  00 00 00 04")
        try withRTP(bytes) { p in
            #expect(p.payloadLength == 0)
            #expect(p.paddingLength == 4)
        }
    }

    @Test(arguments: [
        ([UInt8](), RTPParseError.truncated),
        (hex("80 60 00 01 00 00 00 02 00 00 00"), .truncated),
        (hex("40 60 00 01 00 00 00 02 00 00 00 03"), .badVersion(1)),
        (hex("81 60 00 01 00 00 00 02 00 00 00 03"), .truncated),  // CC=1 without CSRC
        (hex("90 60 00 01 00 00 00 02 00 00 00 03 BE DE"), .truncated),
        (hex("90 60 00 01 00 00 00 02 00 00 00 03 BE DE 00 02 10 AA 00 00"), .badExtensionLength),
        (hex("A0 60 00 01 00 00 00 02 00 00 00 03 AA 00"), .badPadding),  // count 0
        (hex("A0 60 00 01 00 00 00 02 00 00 00 03 AA 05"), .badPadding),  // count > payload
        (hex("A0 60 00 01 00 00 00 02 00 00 00 03"), .badPadding),  // nothing to hold the count
    ])
    func rejectsMalformed(bytes: [UInt8], expected: RTPParseError) {
        #expect(throws: expected) { try withRTP(bytes) { _ in } }
    }

    @Test func rewritesHeaderInPlaceAndRestores() throws {
        var bytes = simple
        try bytes.withUnsafeMutableBytes { buffer in
            let packet = try MutableRTPPacket(buffer)
            let saved = (packet.sequenceNumber, packet.timestamp, packet.ssrc, packet.payloadType, packet.marker)
            packet.sequenceNumber = 0xFFFF
            packet.timestamp = 1
            packet.ssrc = 0xCAFE_BABE
            packet.payloadType = 111
            packet.marker = false
            let view = try RTPPacket(UnsafeRawBufferPointer(buffer))
            #expect(view.sequenceNumber == 0xFFFF)
            #expect(view.timestamp == 1)
            #expect(view.ssrc == 0xCAFE_BABE)
            #expect(view.payloadType == 111)
            #expect(!view.marker)
            #expect(Array(view.payload) == [1, 2, 3])
            packet.sequenceNumber = saved.0
            packet.timestamp = saved.1
            packet.ssrc = saved.2
            packet.payloadType = saved.3
            packet.marker = saved.4
        }
        #expect(bytes == simple)
    }

    @Test func builderRoundTrip() throws {
        let builder = RTPPacketBuilder(
            marker: true, payloadType: 100, sequenceNumber: 65535, timestamp: 123_456, ssrc: 42, csrcs: [7, 8, 9],
            extensions: [
                RTPPacketBuilder.stringExtension(id: 1, "0"),
                RTPPacketBuilder.transportSequenceNumberExtension(id: 3, 777),
            ],
            payload: [9, 8, 7, 6, 5], paddingLength: 7)
        let bytes = try builder.bytes()
        #expect(bytes.count == builder.serializedLength)
        #expect(bytes.count % 4 == 0 || builder.paddingLength > 0)
        try withRTP(bytes) { p in
            #expect(RTPPacketBuilder(p) == builder)
            #expect(p.mid(id: 1) == "0")
            #expect(p.transportSequenceNumber(id: 3) == 777)
            #expect(p.paddingLength == 7)
        }
    }

    @Test func builderReportsSmallBuffer() throws {
        let builder = RTPPacketBuilder(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: [1, 2, 3])
        var small = [UInt8](repeating: 0, count: 14)
        small.withUnsafeMutableBytes { buffer in
            #expect(throws: RTPBuildError.bufferTooSmall(needed: 15)) { _ = try builder.write(into: buffer) }
        }
        let tooManyCSRCs = RTPPacketBuilder(payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: Array(0..<16))
        #expect(throws: RTPBuildError.invalidField) { try tooManyCSRCs.bytes() }
    }
}
