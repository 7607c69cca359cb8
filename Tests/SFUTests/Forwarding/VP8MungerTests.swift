import Media
import Testing
@testable import SFU

@Suite struct VP8MungerTests {
    static func d(_ pid: UInt16?, wide: Bool = true, tl0: UInt8? = nil, key: UInt8? = nil, tid: UInt8? = nil) -> VP8PayloadDescriptor {
        VP8PayloadDescriptor(startOfPartition: true, pictureID: pid, pictureIDIs15Bit: wide, tl0PicIdx: tl0,
                             temporalLayerID: tid, keyIndex: key)
    }
    typealias R = VP8Munger.Rewrite

    @Test func firstStreamIsIdentityAndLateMapsConsistently() {
        var m = VP8Munger()
        #expect(m.anchor(Self.d(300, tl0: 10, key: 3)) == R(pictureID: 300, tl0PicIdx: 10, keyIndex: 3))
        #expect(m.map(Self.d(300, tl0: 10, key: 3)) == R(pictureID: 300, tl0PicIdx: 10, keyIndex: 3))
        #expect(m.map(Self.d(302, tl0: 12, key: 3)) == R(pictureID: 302, tl0PicIdx: 12, keyIndex: 3))
        #expect(m.map(Self.d(301, tl0: 11, key: 3)) == R(pictureID: 301, tl0PicIdx: 11, keyIndex: 3))
    }

    @Test func switchContinuesAtHighestPlusOne() {
        var m = VP8Munger()
        _ = m.anchor(Self.d(100, tl0: 50, key: 1))
        _ = m.map(Self.d(101, tl0: 51, key: 1))
        _ = m.map(Self.d(102, tl0: 52, key: 1))
        // New layer: its own numbering, mapped to continue.
        #expect(m.anchor(Self.d(9000, tl0: 200, key: 30)) == R(pictureID: 103, tl0PicIdx: 53, keyIndex: 2))
        #expect(m.map(Self.d(9000, tl0: 200, key: 30)) == R(pictureID: 103, tl0PicIdx: 53, keyIndex: 2))
        #expect(m.map(Self.d(9001, tl0: 201, key: 30)) == R(pictureID: 104, tl0PicIdx: 54, keyIndex: 2))
        // Its incoming picture id, TL0PICIDX and KEYIDX wrap on their own.
        #expect(m.anchor(Self.d(32767, tl0: 255, key: 31)) == R(pictureID: 105, tl0PicIdx: 55, keyIndex: 3))
        #expect(m.map(Self.d(0, tl0: 0, key: 0)) == R(pictureID: 106, tl0PicIdx: 56, keyIndex: 4))
    }

    @Test func outgoingWrapsAtTheIncomingWidth() {
        var m = VP8Munger()
        _ = m.anchor(Self.d(32766, tl0: 254, key: 30))
        #expect(m.map(Self.d(32767, tl0: 255, key: 31)) == R(pictureID: 32767, tl0PicIdx: 255, keyIndex: 31))
        // Switch to a layer with 7-bit picture ids: continues at 32768, written as 7 bits.
        #expect(m.anchor(Self.d(5, wide: false, tl0: 9, key: 2)) == R(pictureID: 0, tl0PicIdx: 0, keyIndex: 0))
        #expect(m.map(Self.d(6, wide: false)) == R(pictureID: 1))
        for i in 7...127 { _ = m.map(Self.d(UInt16(i), wide: false)) }
        #expect(m.map(Self.d(0, wide: false)) == R(pictureID: 123))  // 5 -> 0 => +123 mod 128
        // Back to 15 bits: continuity is kept in the 15-bit space too.
        #expect(m.anchor(Self.d(20000)) == R(pictureID: 124))
    }

    @Test func absentFieldsStayAbsentAndAnchorLazily() {
        var m = VP8Munger()
        #expect(m.anchor(Self.d(nil)) == R())
        #expect(m.map(Self.d(40, tl0: 7)) == R(pictureID: 40, tl0PicIdx: 7))
        #expect(m.anchor(Self.d(1000)) == R(pictureID: 41))
        #expect(m.map(Self.d(1000, tl0: 99)) == R(pictureID: 41, tl0PicIdx: 8))
    }

    @Test func rewriteInPlaceRoundTrip() throws {
        var bytes: [UInt8] = []
        Self.d(12345, tl0: 77, key: 9, tid: 1).write(to: &bytes)
        bytes += [0x10, 0x02, 0x00]  // frame data (interframe)
        try bytes.withUnsafeMutableBytes { raw in
            let parsed = try VP8PayloadDescriptor(parsing: UnsafeRawBufferPointer(raw))
            var m = VP8Munger()
            _ = m.anchor(Self.d(1))
            let rewrite = m.anchor(parsed)
            #expect(rewrite == R(pictureID: 2, tl0PicIdx: 77, keyIndex: 9))
            parsed.rewrite(raw, pictureID: rewrite.pictureID, tl0PicIdx: rewrite.tl0PicIdx, keyIndex: rewrite.keyIndex)
            let again = try VP8PayloadDescriptor(parsing: UnsafeRawBufferPointer(raw))
            #expect(again.pictureID == 2 && again.tl0PicIdx == 77 && again.keyIndex == 9 && again.temporalLayerID == 1)
        }
    }
}
