import Media
import Testing
@testable import SFU

/// RTP with X set and a one-byte-header block: mid "0" (id 4) and transport-cc (id 3).
private let oneByteBlock: [UInt8] = [0x90, 96, 0x00, 0x01, 0, 0, 0, 1, 0xDE, 0xAD, 0xBE, 0xEF,
                                   0xBE, 0xDE, 0x00, 0x02, 0x40, 0x30, 0x31, 0x12, 0x34, 0x00, 0x00, 0x00,
                                   0xAA, 0xBB]
/// The same with a two-byte-header block (profile 0x1000): id 4, length 1, "0".
private let twoByteBlock: [UInt8] = [0x90, 96, 0x00, 0x01, 0, 0, 0, 1, 0xDE, 0xAD, 0xBE, 0xEF,
                                   0x10, 0x00, 0x00, 0x01, 0x04, 0x01, 0x30, 0x00, 0xAA]

/// A forwarded packet's header extensions hidden for a single-peer-connection subscriber, and
/// put back byte for byte for the next subscriber.
@Suite struct ExtensionBlockRewriteTests {
    @Test(arguments: [oneByteBlock, twoByteBlock])
    func hidesEveryElementAndRestoresTheBytes(_ original: [UInt8]) throws {
        var bytes = original
        try bytes.withUnsafeMutableBytes { buffer in
            #expect(Array(try RTPPacket(UnsafeRawBufferPointer(buffer)).headerExtensions).count >= 1)
            var mask = ExtensionBlockRewrite()
            mask.hide(in: buffer)
            let hidden = try RTPPacket(UnsafeRawBufferPointer(buffer))
            #expect(Array(hidden.headerExtensions).isEmpty, "id 15 ends the block for the receiver")
            #expect(hidden.payload.count == 2 || hidden.payload.count == 1)
            mask.restore(in: buffer)
        }
        #expect(bytes == original)
    }

    @Test(arguments: [oneByteBlock, twoByteBlock])
    func stampsOurSequenceNumberAloneAndRestoresTheBytes(_ original: [UInt8]) throws {
        var bytes = original
        try bytes.withUnsafeMutableBytes { buffer in
            var block = ExtensionBlockRewrite()
            let stamped = block.stamp(0x1234, id: 7, in: buffer)
            #expect(stamped)
            let packet = try RTPPacket(UnsafeRawBufferPointer(buffer))
            let elements = Array(packet.headerExtensions)
            #expect(elements.count == 1 && elements[0].id == 7 && Array(elements[0].data) == [0x12, 0x34])
            block.restore(in: buffer)
        }
        #expect(bytes == original)
    }

    @Test func packetsWithoutExtensionsAreLeftAlone() {
        var bytes: [UInt8] = [0x80, 96, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4, 0xAA]
        let original = bytes
        bytes.withUnsafeMutableBytes { buffer in
            var block = ExtensionBlockRewrite()
            let hid = block.hide(in: buffer), stamped = block.stamp(1, id: 3, in: buffer)
            #expect(!hid && !stamped)
            block.restore(in: buffer)
        }
        #expect(bytes == original)
    }
}
