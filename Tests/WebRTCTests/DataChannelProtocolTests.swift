import Testing
import WebRTC

@Suite struct DataChannelProtocolTests {
    @Test func openRoundTripsAndMatchesRFCLayout() throws {
        let open = DataChannelOpen(label: "_lossy", options: DataChannelOptions(ordered: false, maxRetransmits: 0))
        let bytes = open.serialized()
        // type 3, channel type 0x81 (rexmit | unordered), priority 256, param 0, lengths 6 and 0.
        #expect(Array(bytes[0..<12]) == [0x03, 0x81, 0x01, 0x00, 0, 0, 0, 0, 0, 6, 0, 0])
        #expect(Array(bytes[12...]) == Array("_lossy".utf8))
        let parsed = try #require(bytes.withUnsafeBytes { DataChannelControlMessage(parsing: $0) })
        #expect(parsed == .open(open))
        #expect(open.options == DataChannelOptions(ordered: false, maxRetransmits: 0))

        let timed = DataChannelOpen(label: "t", options: DataChannelOptions(maxPacketLifeTime: 1500, protocol: "p"))
        let t = try #require(timed.serialized().withUnsafeBytes { DataChannelOpen(parsing: $0) })
        #expect(t.channelType == 0x02 && t.reliabilityParameter == 1500 && t.protocol == "p")
        #expect(t.options.maxPacketLifeTime == 1500 && t.options.ordered)

        let reliable = DataChannelOpen(label: "_reliable", options: DataChannelOptions())
        #expect(reliable.channelType == 0x00)
        #expect(DataChannelControlMessage.ack.serialized() == [0x02])
    }

    @Test func malformedControlMessagesAreRejected() {
        let cases: [[UInt8]] = [
            [], [0x03], [0x04], [0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0x61],  // label longer than data
            [0x03, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],  // unknown channel type
        ]
        for c in cases {
            #expect(c.withUnsafeBytes { DataChannelControlMessage(parsing: $0) } == nil)
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let n = Int.random(in: 0..<40, using: &rng)
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if n > 0 { bytes[0] = [0x02, 0x03][Int.random(in: 0...1, using: &rng)] }
            _ = bytes.withUnsafeBytes { DataChannelControlMessage(parsing: $0) }
        }
    }
}
