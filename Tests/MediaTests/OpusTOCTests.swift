import Testing
@testable import Media

@Suite struct OpusTOCTests {
    @Test func webRTCDefaultTOC() {
        // Config 27: CELT, super-wideband, 20 ms; mono; one frame.
        let toc = OpusTOC(27 << 3)
        #expect(toc.mode == .celt)
        #expect(toc.bandwidth == .superWideband)
        #expect(toc.frameDurationMicroseconds == 20_000)
        #expect(!toc.isStereo)
        let samples = [toc.byte, 0x11].withUnsafeBytes { toc.samplesAt48kHz(in: $0) }
        #expect(samples == 960)
    }

    @Test(arguments: [
        (UInt8(0), OpusTOC.Mode.silk, OpusTOC.Bandwidth.narrowband, 10_000),
        (11, .silk, .wideband, 60_000),
        (12, .hybrid, .superWideband, 10_000),
        (15, .hybrid, .fullband, 20_000),
        (16, .celt, .narrowband, 2_500),
        (31, .celt, .fullband, 20_000),
    ])
    func configTable(config: UInt8, mode: OpusTOC.Mode, bandwidth: OpusTOC.Bandwidth, duration: Int) {
        let toc = OpusTOC(config << 3 | 0x04)
        #expect(toc.config == config)
        #expect(toc.isStereo)
        #expect(toc.mode == mode)
        #expect(toc.bandwidth == bandwidth)
        #expect(toc.frameDurationMicroseconds == duration)
    }

    @Test func frameCounts() {
        let code1: [UInt8] = [15 << 3 | 1, 0, 0]
        let code3: [UInt8] = [15 << 3 | 3, 0x83]
        let code3Zero: [UInt8] = [15 << 3 | 3, 0x80]
        let code3Short: [UInt8] = [15 << 3 | 3]
        #expect(code1.withUnsafeBytes { OpusTOC(code1[0]).packetDurationMicroseconds(in: $0) } == 40_000)
        #expect(code3.withUnsafeBytes { OpusTOC(code3[0]).frameCount(in: $0) } == 3)
        #expect(code3Zero.withUnsafeBytes { OpusTOC(code3Zero[0]).frameCount(in: $0) } == nil)
        #expect(code3Short.withUnsafeBytes { OpusTOC(code3Short[0]).frameCount(in: $0) } == nil)
        #expect([UInt8]().withUnsafeBytes { OpusTOC(payload: $0) } == nil)
    }
}
