import Testing
@testable import Media

@Suite struct VP8PayloadDescriptorTests {
    func parse(_ bytes: [UInt8]) throws -> VP8PayloadDescriptor {
        try bytes.withUnsafeBytes { try VP8PayloadDescriptor(parsing: $0) }
    }

    @Test func minimalDescriptorKeyframe() throws {
        // S=1 PID=0, then VP8 payload header byte with P=0 (keyframe).
        let d = try parse(hex("10 50 02 00 9D 01 2A"))
        #expect(d.startOfPartition)
        #expect(d.partitionIndex == 0)
        #expect(d.pictureID == nil)
        #expect(d.length == 1)
        #expect(d.isKeyframe)
    }

    @Test func deltaFrameAndNonStart() throws {
        #expect(try !parse(hex("10 51 02 00")).isKeyframe)  // P=1: interframe
        #expect(try !parse(hex("00 50 02 00")).isKeyframe)  // not start of partition
        #expect(try !parse(hex("11 50 02 00")).isKeyframe)  // partition 1
    }

    @Test func fullDescriptor15BitPictureID() throws {
        // X=1 N=1 S=1 PID=0 | I L T K | M=1 picture id 0x1234 | TL0PICIDX 0xAB | TID=2 Y=1 KEYIDX=5
        let bytes = hex("B0 F0 92 34 AB A5 50")
        let d = try parse(bytes)
        #expect(d.nonReferenceFrame)
        #expect(d.pictureID == 0x1234)
        #expect(d.pictureIDIs15Bit)
        #expect(d.tl0PicIdx == 0xAB)
        #expect(d.temporalLayerID == 2)
        #expect(d.layerSync)
        #expect(d.keyIndex == 5)
        #expect(d.length == 6)
        #expect(d.pictureIDOffset == 2)
        #expect(d.tl0PicIdxOffset == 4)
        #expect(d.tidKeyIdxOffset == 5)
        #expect(d.isKeyframe)
        var out: [UInt8] = []
        d.write(to: &out)
        #expect(out == Array(bytes.prefix(6)))
    }

    @Test func sevenBitPictureIDAndTOnly() throws {
        // X | I T | 7-bit id 0x55 | TID=1 Y=0 (KEYIDX bits ignored without K)
        let d = try parse(hex("90 A0 55 5F 01"))
        #expect(d.pictureID == 0x55)
        #expect(!d.pictureIDIs15Bit)
        #expect(d.tl0PicIdx == nil)
        #expect(d.temporalLayerID == 1)
        #expect(d.keyIndex == nil)
        #expect(d.length == 4)
        #expect(!d.isKeyframe)
    }

    @Test func rewriteKeepsWidth() throws {
        var bytes = hex("B0 F0 92 34 AB A5 50")
        let d = try parse(bytes)
        bytes.withUnsafeMutableBytes { #expect(d.rewrite($0, pictureID: 0xFFFF, tl0PicIdx: 7, keyIndex: 31)) }
        let after = try parse(bytes)
        #expect(after.pictureID == 0x7FFF)
        #expect(after.tl0PicIdx == 7)
        #expect(after.keyIndex == 31)
        #expect(after.temporalLayerID == 2)
        #expect(after.layerSync)
        #expect(after.length == d.length)

        var narrow = hex("90 80 7F 01")
        let n = try parse(narrow)
        narrow.withUnsafeMutableBytes { _ = n.rewrite($0, pictureID: 0x80, tl0PicIdx: 9) }
        #expect(narrow == hex("90 80 00 01"))  // wraps at 2^7; absent TL0 untouched
    }

    @Test(arguments: [
        [UInt8](), hex("80"), hex("80 80"), hex("80 80 80"), hex("80 40"), hex("80 20"), hex("80 C0 12"),
    ])
    func truncatedIsError(bytes: [UInt8]) {
        #expect(throws: CodecParseError.truncated) { try parse(bytes) }
    }

    @Test func builderRoundTrip() throws {
        let d = VP8PayloadDescriptor(startOfPartition: true, pictureID: 300, tl0PicIdx: 4, temporalLayerID: 3, layerSync: true)
        var out: [UInt8] = []
        d.write(to: &out)
        #expect(out.count == d.serializedLength)
        let parsed = try parse(out + [0x00])
        #expect(parsed.pictureID == 300)
        #expect(parsed.tl0PicIdx == 4)
        #expect(parsed.temporalLayerID == 3)
        #expect(parsed.keyIndex == nil)
        #expect(parsed.isKeyframe)
    }

    @Test func keyframeDimensions() throws {
        // Frame tag (P=0), start code, width 640, height 360 with scale bits set (masked off).
        let bytes = hex("10 50 02 00 9D 01 2A 80 C2 68 41")
        let d = try parse(bytes)
        let size = bytes.withUnsafeBytes { d.keyframeDimensions(in: $0) }
        #expect(size?.width == 640)
        #expect(size?.height == 360)
    }
}
