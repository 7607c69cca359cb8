import Testing
@testable import Egress

/// Codec configuration records and the container choice, byte for byte.
@Suite struct ContainerConfigurationTests {
    @Test func opusHeadLayout() {
        let head = CodecConfiguration.opusHead(channels: 2)
        #expect(head == Array("OpusHead".utf8) + [1, 2, 0, 0, 0x80, 0xBB, 0, 0, 0, 0, 0])
    }

    @Test func avcDecoderConfigurationLayout() {
        let record = CodecConfiguration.avcDecoderConfiguration(sps: DepacketizerTests.sps, pps: DepacketizerTests.pps)
        #expect(record == [1, 0x42, 0xC0, 0x0D, 0xFF, 0xE1, 0, UInt8(DepacketizerTests.sps.count)] + DepacketizerTests.sps + [1, 0, UInt8(DepacketizerTests.pps.count)] + DepacketizerTests.pps)
    }

    @Test func containerFromPathAndCodec() {
        #expect(RecordingContainer(path: "/a/b.MP4") == .mp4)
        #expect(RecordingContainer(path: "/a.b/c") == nil)
        #expect(RecordingContainer(path: "x.opus") == .ogg)
        #expect(RecordingContainer.preferred(for: [.vp8]) == .webm)
        #expect(RecordingContainer.preferred(for: [.h264, .opus]) == .mp4)
        #expect(RecordingContainer.preferred(for: [.opus]) == .ogg)
        #expect(!RecordingContainer.mp4.supports(.vp8) && RecordingContainer.mp4.supports(.opus))
    }
}
