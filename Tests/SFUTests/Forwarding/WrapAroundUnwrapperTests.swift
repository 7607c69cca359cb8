import Testing
@testable import SFU

@Suite struct WrapAroundUnwrapperTests {
    /// (bits, inputs, expected extended values)
    static let cases: [(String, Int, [UInt64], [Int64])] = [
        ("seq forward", 16, [10, 11, 13], [10, 11, 13]),
        ("seq wrap", 16, [65534, 65535, 0, 1], [65534, 65535, 65536, 65537]),
        ("seq late across wrap", 16, [65535, 1, 0, 65534, 2], [65535, 65537, 65536, 65534, 65538]),
        ("seq late before first", 16, [3, 65533, 4], [3, -3, 4]),
        ("ts wrap", 32, [0xFFFF_F000, 0x0000_1000, 0xFFFF_FF00], [0xFFFF_F000, 0x1_0000_1000, 0xFFFF_FF00]),
        ("7-bit pid wrap", 7, [126, 127, 0, 1, 127], [126, 127, 128, 129, 127]),
        ("15-bit pid wrap", 15, [32767, 0, 32766], [32767, 32768, 32766]),
        ("5-bit keyidx wrap twice", 5, [30, 31, 0, 10, 20, 31, 1], [30, 31, 32, 42, 52, 63, 65]),
    ]

    @Test(arguments: cases.indices)
    func table(_ index: Int) {
        let (name, bits, inputs, expected) = Self.cases[index]
        var unwrapper = WrapAroundUnwrapper()
        let got = inputs.map { unwrapper.unwrap($0, bits: bits) }
        #expect(got == expected, "\(name)")
    }

    @Test func extendDoesNotRecord() {
        var unwrapper = WrapAroundUnwrapper()
        unwrapper.unwrap(100, bits: 16)
        #expect(unwrapper.extend(200, bits: 16) == 200)
        #expect(unwrapper.highest == 100)
        #expect(unwrapper.extend(90, bits: 16) == 90)
        unwrapper.reset()
        #expect(unwrapper.highest == nil)
        #expect(unwrapper.extend(7, bits: 16) == 7)
    }
}
