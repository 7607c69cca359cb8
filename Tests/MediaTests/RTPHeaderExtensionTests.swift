import Testing
@testable import Media

@Suite struct RTPHeaderExtensionTests {
    /// One-byte form (RFC 8285 §4.2) with padding bytes between elements and a trailing pad:
    ///   id 1 L=0: 'a' ; pad ; id 2 L=2: abs-send-time 0x123456 ; id 3 L=1: twcc 0xBEEF ; id 4 L=0: 0x85
    let oneByte = hex("""
        90 60 00 01 00 00 00 02 00 00 00 03
        BE DE 00 04
        10 61 00 22 12 34 56 31 BE EF 40 85 00 00 00 00
        FF
        """)

    @Test func iteratesOneByteElements() throws {
        try withRTP(oneByte) { p in
            #expect(p.extensionProfile == 0xBEDE)
            #expect(p.headerExtensions.form == .oneByte)
            let elements = Array(p.headerExtensions)
            #expect(elements.map(\.id) == [1, 2, 3, 4])
            #expect(elements.map(\.data.count) == [1, 3, 2, 1])
            #expect(p.mid(id: 1) == "a")
            #expect(p.absSendTime(id: 2) == 0x123456)
            #expect(p.transportSequenceNumber(id: 3) == 0xBEEF)
            #expect(p.audioLevel(id: 4) == RTPAudioLevel(voiceActivity: true, level: 5))
            #expect(p.headerExtension(id: 5) == nil)
            #expect(p.headerExtension(id: 0) == nil)
            #expect(Array(p.payload) == [0xFF])
        }
    }

    @Test func oneByteID15StopsParsing() throws {
        let bytes = hex("90 60 00 01 00 00 00 02 00 00 00 03 BE DE 00 01 10 61 F0 00")
        try withRTP(bytes) { p in
            #expect(Array(p.headerExtensions).map(\.id) == [1])
        }
    }

    @Test func twoByteElements() throws {
        // Profile 0x1000 with appbits; id 1 len 0 (allowed only in two-byte form), id 20 len 5 "hello".
        let bytes = hex("90 60 00 01 00 00 00 02 00 00 00 03 10 03 00 03  01 00 00 14 05 68 65 6C 6C 6F 00 00")
        try withRTP(bytes) { p in
            #expect(p.headerExtensions.form == .twoByte)
            let elements = Array(p.headerExtensions)
            #expect(elements.map(\.id) == [1, 20])
            #expect(elements[0].data.count == 0)
            #expect(p.rid(id: 20) == "hello")
            #expect(p.rid(id: 1) == nil)
        }
    }

    @Test func unknownProfileYieldsNoElements() throws {
        let bytes = hex("90 60 00 01 00 00 00 02 00 00 00 03 AB CD 00 01 10 61 00 00")
        try withRTP(bytes) { p in
            #expect(p.extensionProfile == 0xABCD)
            #expect(Array(p.headerExtensions).isEmpty)
        }
    }

    @Test func truncatedElementEndsIteration() throws {
        // id 1 claims 4 bytes but only 3 remain in the block.
        let bytes = hex("90 60 00 01 00 00 00 02 00 00 00 03 BE DE 00 01 13 61 62 63")
        try withRTP(bytes) { p in
            #expect(Array(p.headerExtensions).isEmpty)
        }
    }

    @Test func builderChoosesFormAndRoundTrips() throws {
        let short = RTPPacketBuilder(
            payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3,
            extensions: [
                RTPPacketBuilder.stringExtension(id: 10, "h"),
                RTPPacketBuilder.stringExtension(id: 11, "f"),
                RTPPacketBuilder.absSendTimeExtension(id: 2, 0xABCDEF),
                RTPPacketBuilder.audioLevelExtension(id: 4, RTPAudioLevel(voiceActivity: false, level: 127)),
                RTPPacketBuilder.videoOrientationExtension(id: 13, RTPVideoOrientation(backFacingCamera: true, horizontalFlip: false, rotationDegrees: 270)),
            ])
        #expect(!short.usesTwoByteExtensions)
        try withRTP(try short.bytes()) { p in
            #expect(p.extensionProfile == 0xBEDE)
            #expect(p.rid(id: 10) == "h")
            #expect(p.repairedRid(id: 11) == "f")
            #expect(p.absSendTime(id: 2) == 0xABCDEF)
            #expect(p.audioLevel(id: 4) == RTPAudioLevel(voiceActivity: false, level: 127))
            #expect(p.videoOrientation(id: 13) == RTPVideoOrientation(backFacingCamera: true, rotationDegrees: 270))
        }
        let long = RTPPacketBuilder(
            payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3,
            extensions: [RTPPacketBuilder.stringExtension(id: 1, "a-rather-long-mid-value"), .init(id: 200, data: [1])])
        #expect(long.usesTwoByteExtensions)
        try withRTP(try long.bytes()) { p in
            #expect(p.headerExtensions.form == .twoByte)
            #expect(p.mid(id: 1) == "a-rather-long-mid-value")
            #expect(p.headerExtension(id: 200).map(Array.init) == [1])
            #expect(RTPPacketBuilder(p) == long)
        }
    }

    @Test func rewritesExtensionValuesInPlace() throws {
        var bytes = oneByte
        try bytes.withUnsafeMutableBytes { buffer in
            let packet = try MutableRTPPacket(buffer)
            #expect(packet.setTransportSequenceNumber(0x0102, id: 3))
            #expect(packet.setAbsSendTime(0xFFFFFF, id: 2))
            #expect(!packet.setTransportSequenceNumber(1, id: 9))  // absent
            #expect(!packet.setAbsSendTime(1, id: 3))  // wrong size
            let newMid: [UInt8] = [0x7A]
            newMid.withUnsafeBytes { #expect(packet.setHeaderExtension(id: 1, to: $0)) }
            let view = packet.packet
            #expect(view.transportSequenceNumber(id: 3) == 0x0102)
            #expect(view.absSendTime(id: 2) == 0xFFFFFF)
            #expect(view.mid(id: 1) == "z")
        }
    }

    @Test func videoOrientationBits() {
        let values: [UInt8] = [0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0F]
        for byte in values {
            let parsed = [byte].withUnsafeBytes { RTPVideoOrientation($0) }!
            #expect(parsed.byte == byte)
        }
        #expect(RTPVideoOrientation(rotationDegrees: -90).rotationDegrees == 270)
    }
}
