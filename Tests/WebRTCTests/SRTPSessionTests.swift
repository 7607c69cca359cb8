import Testing
import WebRTC

@Suite struct SRTPSessionTests {
    static func keys(_ profile: SRTPProfile, seed: UInt8) -> SRTPKeyingMaterial {
        SRTPKeyingMaterial(profile: profile,
                           key: (0..<profile.keyLength).map { UInt8($0) &+ seed },
                           salt: (0..<profile.saltLength).map { UInt8($0) &* 3 &+ seed })
    }

    @Test(arguments: SRTPProfile.allCases)
    func rtpRoundTrip(_ profile: SRTPProfile) throws {
        let keys = Self.keys(profile, seed: 7)
        let sender = try SRTPSession(keys, direction: .outbound)
        let receiver = try SRTPSession(keys, direction: .inbound)
        let payload: [UInt8] = Array(repeating: 0xAB, count: 160)
        for seq in UInt16(1000)..<1010 {
            let plain = makeRTP(sequence: seq, payload: payload)
            var buffer = plain + Array(repeating: 0, count: SRTPSession.maxRTPTrailer)
            try buffer.withUnsafeMutableBytes { buf in
                let protectedLength = try sender.protectRTP(buf, length: plain.count)
                #expect(protectedLength == plain.count + (profile == .aeadAes128Gcm ? 16 : 10))
                #expect(Array(buf[12..<plain.count]) != payload)  // payload encrypted
                #expect(Array(buf[0..<12]) == Array(plain[0..<12]))  // header in clear
                let length = try receiver.unprotectRTP(buf, length: protectedLength)
                #expect(length == plain.count)
                #expect(Array(buf[0..<length]) == plain)
            }
        }
    }

    @Test(arguments: SRTPProfile.allCases)
    func rtcpRoundTrip(_ profile: SRTPProfile) throws {
        let keys = Self.keys(profile, seed: 9)
        let sender = try SRTPSession(keys, direction: .outbound)
        let receiver = try SRTPSession(keys, direction: .inbound)
        let plain = makeRTCP()
        var buffer = plain + Array(repeating: 0, count: SRTPSession.maxRTCPTrailer)
        try buffer.withUnsafeMutableBytes { buf in
            let protectedLength = try sender.protectRTCP(buf, length: plain.count)
            #expect(protectedLength > plain.count)
            let length = try receiver.unprotectRTCP(buf, length: protectedLength)
            #expect(Array(buf[0..<length]) == plain)
        }
    }

    @Test(arguments: SRTPProfile.allCases)
    func tamperingIsDetected(_ profile: SRTPProfile) throws {
        let keys = Self.keys(profile, seed: 1)
        let sender = try SRTPSession(keys, direction: .outbound)
        let receiver = try SRTPSession(keys, direction: .inbound)
        let plain = makeRTP(sequence: 1, payload: Array(repeating: 0x42, count: 100))
        var buffer = plain + Array(repeating: 0, count: SRTPSession.maxRTPTrailer)
        try buffer.withUnsafeMutableBytes { buf in
            let length = try sender.protectRTP(buf, length: plain.count)
            buf[20] ^= 0x01
            #expect(throws: SRTPError.authenticationFailed) { _ = try receiver.unprotectRTP(buf, length: length) }
        }
        // Wrong key: fails authentication too.
        let other = try SRTPSession(Self.keys(profile, seed: 2), direction: .inbound)
        var buffer2 = plain + Array(repeating: 0, count: SRTPSession.maxRTPTrailer)
        try buffer2.withUnsafeMutableBytes { buf in
            let length = try sender.protectRTP(buf, length: plain.count)
            _ = length
            let again = makeRTP(sequence: 2, payload: [1, 2, 3])
            buf.copyBytes(from: again)
            let l2 = try sender.protectRTP(buf, length: again.count)
            #expect(throws: SRTPError.authenticationFailed) { _ = try other.unprotectRTP(buf, length: l2) }
        }
    }

    @Test func replayIsRejected() throws {
        let keys = Self.keys(.aeadAes128Gcm, seed: 3)
        let sender = try SRTPSession(keys, direction: .outbound)
        let receiver = try SRTPSession(keys, direction: .inbound)
        let plain = makeRTP(sequence: 5, payload: [9, 9, 9, 9])
        var wire = plain + Array(repeating: 0, count: SRTPSession.maxRTPTrailer)
        let length = try wire.withUnsafeMutableBytes { try sender.protectRTP($0, length: plain.count) }
        var copy = wire
        _ = try wire.withUnsafeMutableBytes { try receiver.unprotectRTP($0, length: length) }
        #expect(throws: SRTPError.replayed) {
            _ = try copy.withUnsafeMutableBytes { try receiver.unprotectRTP($0, length: length) }
        }
    }

    @Test func badKeyLengthAndSmallBuffer() throws {
        #expect(throws: SRTPError.badKeyLength) {
            _ = try SRTPSession(SRTPKeyingMaterial(profile: .aeadAes128Gcm, key: [1], salt: [2]), direction: .inbound)
        }
        let sender = try SRTPSession(Self.keys(.aeadAes128Gcm, seed: 4), direction: .outbound)
        var tight = makeRTP(sequence: 1, payload: [1, 2, 3])
        let count = tight.count
        #expect(throws: SRTPError.bufferTooSmall) {
            _ = try tight.withUnsafeMutableBytes { try sender.protectRTP($0, length: count) }
        }
    }
}

@Suite struct PacketDemuxTests {
    @Test func classifiesByFirstByte() {
        #expect(PacketKind.classify([0x00, 0x01, 0, 0]) == .stun)
        #expect(PacketKind.classify([0x01, 0x01]) == .stun)
        #expect(PacketKind.classify([22, 0xfe, 0xfd]) == .dtls)  // handshake
        #expect(PacketKind.classify([23, 0xfe, 0xfd]) == .dtls)  // application data
        #expect(PacketKind.classify([63, 0]) == .dtls)
        #expect(PacketKind.classify(makeRTP(sequence: 1, payload: [])) == .rtp)
        #expect(PacketKind.classify([0x80, 96 | 0x80]) == .rtp)  // marker bit, PT 96
        #expect(PacketKind.classify(makeRTCP()) == .rtcp)
        #expect(PacketKind.classify([0x81, 200]) == .rtcp)       // SR
        #expect(PacketKind.classify([0x8f, 206]) == .rtcp)       // PSFB
        #expect(PacketKind.classify([0x80, 223]) == .rtcp)
        #expect(PacketKind.classify([0x80, 224]) == .rtp)
        #expect(PacketKind.classify([0x80]) == .unknown)
        #expect(PacketKind.classify([]) == .unknown)
        #expect(PacketKind.classify([64, 0]) == .unknown)        // TURN channel
        #expect(PacketKind.classify([200, 0]) == .unknown)
    }
}
