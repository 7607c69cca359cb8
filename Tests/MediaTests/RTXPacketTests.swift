import Testing
@testable import Media

@Suite struct RTXPacketTests {
    let original = RTPPacketBuilder(
        marker: true, payloadType: 96, sequenceNumber: 4242, timestamp: 90_000, ssrc: 0x1111,
        extensions: [RTPPacketBuilder.stringExtension(id: 10, "f"), RTPPacketBuilder.transportSequenceNumberExtension(id: 3, 5)],
        payload: [1, 2, 3, 4, 5], paddingLength: 4)

    @Test func wrapThenUnwrapRestoresOriginal() throws {
        let bytes = try original.bytes()
        var scratch = [UInt8](repeating: 0xEE, count: 1500)
        let length = try bytes.withUnsafeBytes { source in
            try scratch.withUnsafeMutableBytes { target in
                try #require(RTXPacket.wrap(try RTPPacket(source), into: target, rtxPayloadType: 97, rtxSSRC: 0x2222, rtxSequenceNumber: 7))
            }
        }
        var rtx = Array(scratch.prefix(length))
        try withRTP(rtx) { p in
            #expect(p.payloadType == 97)
            #expect(p.ssrc == 0x2222)
            #expect(p.sequenceNumber == 7)
            #expect(p.marker)
            #expect(p.paddingLength == 0)
            #expect(p.rid(id: 10) == "f")
            #expect(RTXPacket.originalSequenceNumber(p) == 4242)
            #expect(Array(p.payload) == [0x10, 0x92, 1, 2, 3, 4, 5])
        }
        let range = rtx.withUnsafeMutableBytes { RTXPacket.unwrapInPlace($0, primaryPayloadType: 96, primarySSRC: 0x1111) }
        let restored = Array(rtx[try #require(range)])
        var expected = original
        expected.paddingLength = 0
        #expect(restored == (try expected.bytes()))
    }

    @Test func paddingOnlyRTXIsNotUnwrapped() throws {
        var probe = try RTPPacketBuilder(payloadType: 97, sequenceNumber: 1, timestamp: 2, ssrc: 3, paddingLength: 200).bytes()
        let before = probe
        try withRTP(probe) { #expect(RTXPacket.originalSequenceNumber($0) == nil) }
        #expect(probe.withUnsafeMutableBytes { RTXPacket.unwrapInPlace($0, primaryPayloadType: 96, primarySSRC: 1) } == nil)
        #expect(probe == before)
    }

    @Test func wrapNeedsRoom() throws {
        let bytes = try original.bytes()
        var small = [UInt8](repeating: 0, count: 20)
        let result = try bytes.withUnsafeBytes { source in
            try small.withUnsafeMutableBytes { RTXPacket.wrap(try RTPPacket(source), into: $0, rtxPayloadType: 97, rtxSSRC: 1, rtxSequenceNumber: 1) }
        }
        #expect(result == nil)
    }
}
