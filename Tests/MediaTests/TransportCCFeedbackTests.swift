import Testing
@testable import Media

@Suite struct TransportCCFeedbackTests {
    /// A Chrome-sent TWCC feedback as decoded by Wireshark: run-length chunk of 9 small deltas,
    /// reference time 6197520, one byte of RTCP padding.
    let chromeFeedback = hex("""
        af cd 00 07 00 00 00 01 dd 58 6e b6 00 01 00 09
        5e 91 10 00 20 09 1c 0c 2c 38 00 04 00 08 18 01
        """)

    @Test func parsesRealFeedback() throws {
        let packets = try RTCPPacket.parseCompound(chromeFeedback)
        guard case .transportCC(let fb) = packets.first else { Issue.record(); return }
        #expect(fb.senderSSRC == 1)
        #expect(fb.mediaSSRC == 0xDD58_6EB6)
        #expect(fb.baseSequenceNumber == 1)
        #expect(fb.referenceTime == 6_197_520)
        #expect(fb.feedbackPacketCount == 0)
        #expect(fb.receiveDeltas == [0x1C, 0x0C, 0x2C, 0x38, 0x00, 0x04, 0x00, 0x08, 0x18])
        let times = fb.arrivalTimesMicroseconds
        let base: Int64 = 6_197_520 * 64_000
        #expect(times[0] == .some(base + 7_000))
        #expect(times[1] == .some(base + 10_000))
        // Our encoder picks the same run-length chunk and padding, so the bytes match exactly.
        var out: [UInt8] = []
        fb.write(to: &out)
        #expect(out == chromeFeedback)
    }

    @Test func twoBitVectorKnownBytes() throws {
        let fb = TransportCCFeedback(
            senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 100, referenceTime: 1, feedbackPacketCount: 2,
            receiveDeltas: [4, nil, -4])
        var out: [UInt8] = []
        fb.write(to: &out)
        #expect(out == hex("AF CD 00 06 00 00 00 01 00 00 00 02 00 64 00 03 00 00 01 02 D2 00 04 FF FC 00 00 03"))
        #expect(try RTCPPacket.parseCompound(out) == [.transportCC(fb)])
    }

    @Test func parsesDraftChunkExamples() throws {
        // §3.1.3/3.1.4 style chunks: one-bit vector 0b1_0_11100110_0000 and run length of 221 "not received".
        func body(chunks: [UInt8], count: UInt16, deltas: [UInt8]) -> [UInt8] {
            var b = hex("00 00 00 01 00 00 00 02 00 00") + [UInt8(count >> 8), UInt8(count & 0xFF)] + hex("00 00 00 00") + chunks + deltas
            while b.count % 4 != 0 { b.append(0) }
            return [0x8F, 0xCD, 0, UInt8(b.count / 4)] + b
        }
        // One-bit vector: 14 symbols N R R R N N R R N N N N N N -> 5 received.
        let vector = body(chunks: [0x9C, 0xC0], count: 14, deltas: [1, 2, 3, 4, 5])
        guard case .transportCC(let fb) = try RTCPPacket.parseCompound(vector)[0] else { Issue.record(); return }
        #expect(fb.receiveDeltas == [nil, 1, 2, 3, nil, nil, 4, 5, nil, nil, nil, nil, nil, nil])
        let run = body(chunks: [0x00, 0xDD], count: 221, deltas: [])
        guard case .transportCC(let fb2) = try RTCPPacket.parseCompound(run)[0] else { Issue.record(); return }
        #expect(fb2.receiveDeltas.count == 221)
        #expect(fb2.receiveDeltas.allSatisfy { $0 == nil })
    }

    @Test func rejectsReservedSymbolAndMissingDeltas() {
        // Run-length chunk with symbol 3.
        let reserved = hex("8F CD 00 05 00 00 00 01 00 00 00 02 00 00 00 02 00 00 00 00 60 02 00 00")
        #expect(throws: RTCPParseError.malformed(packetType: 205, format: 15)) { try RTCPPacket.parseCompound(reserved) }
        // Two small deltas announced, one present.
        let short = hex("8F CD 00 05 00 00 00 01 00 00 00 02 00 00 00 03 00 00 00 00 20 03 05 00")
        #expect(throws: RTCPParseError.malformed(packetType: 205, format: 15)) { try RTCPPacket.parseCompound(short) }
    }

    @Test func randomRoundTrips() throws {
        var rng = SplitMix64(seed: 0x7CC)
        for _ in 0..<500 {
            let count = Int.random(in: 1...300, using: &rng)
            let lossRate = Double.random(in: 0...1, using: &rng)
            let deltas: [Int16?] = (0..<count).map { _ in
                if Double.random(in: 0...1, using: &rng) < lossRate { return nil }
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: return Int16.random(in: Int16.min...Int16.max, using: &rng)
                case 1: return Int16.random(in: -5...300, using: &rng)
                default: return Int16.random(in: 0...255, using: &rng)
                }
            }
            let fb = TransportCCFeedback(
                senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: UInt16.random(in: 0...UInt16.max, using: &rng),
                referenceTime: Int32.random(in: -0x80_0000...0x7F_FFFF, using: &rng), feedbackPacketCount: 9, receiveDeltas: deltas)
            var out: [UInt8] = []
            fb.write(to: &out)
            #expect(try RTCPPacket.parseCompound(out) == [.transportCC(fb)])
        }
    }

    @Test func buildsFromArrivalTimes() throws {
        let arrivals: [Int64?] = [1_000_000, 1_000_250, nil, 1_010_000, 1_005_000, nil, 1_100_000]
        let fb = try #require(TransportCCFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 65534, feedbackPacketCount: 0, arrivalTimesMicroseconds: arrivals))
        #expect(fb.referenceTime == 15)  // floor(1_000_000 / 64_000)
        #expect(fb.arrivalTimesMicroseconds == arrivals)
        // Gaps beyond +-8 s cannot be expressed.
        #expect(TransportCCFeedback(senderSSRC: 1, mediaSSRC: 2, baseSequenceNumber: 0, feedbackPacketCount: 0, arrivalTimesMicroseconds: [0, 9_000_000]) == nil)
    }
}
