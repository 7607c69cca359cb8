import Testing
@testable import Media

@Suite struct H264PayloadTests {
    let sps = hex("67 42 C0 1F DA 01 40 16 E8 06 D0 A1 35")
    let pps = hex("68 CE 06 E2")
    let idr = hex("65 88 84 00 33 FF")
    let slice = hex("41 9A 02 03")

    func inspect(_ bytes: [UInt8]) throws -> (H264Packetization, Bool, [[UInt8]]) {
        try bytes.withUnsafeBytes { buffer in
            let p = try H264Payload(buffer)
            var units: [[UInt8]] = []
            p.forEachNALUnit { units.append(Array($0)) }
            return (p.packetization, p.isKeyframe, units)
        }
    }

    @Test func singleNALUnits() throws {
        let (kind, key, units) = try inspect(idr)
        #expect(kind == .singleNAL(type: 5))
        #expect(key)
        #expect(units == [idr])
        #expect(try inspect(slice).1 == false)
        #expect(try inspect(sps).1)
        #expect(try inspect(pps).1)
    }

    @Test func stapAWalksUnits() throws {
        let stap = try #require(H264Payload.stapA([sps, pps, idr]))
        #expect(stap[0] == 0x78)  // NRI 3, type 24
        let (kind, key, units) = try inspect(stap)
        #expect(kind == .stapA)
        #expect(key)
        #expect(units == [sps, pps, idr])
        #expect(try inspect(#require(H264Payload.stapA([slice, hex("06 05 01")]))).1 == false)
        #expect(H264Payload.stapA([[]]) == nil)
        #expect(H264Payload.stapA([]) == nil)
    }

    @Test func fuAFragmentsReassemble() throws {
        let big = [UInt8(0x65)] + (0..<100).map { UInt8($0) }
        let fragments = H264Payload.fuA(big, maxPayloadSize: 30)
        #expect(fragments.count == 4)
        var rebuilt: [UInt8] = []
        for (i, fragment) in fragments.enumerated() {
            try fragment.withUnsafeBytes { buffer in
                let p = try H264Payload(buffer)
                guard case .fuA(let start, let end, let header) = p.packetization else { Issue.record(); return }
                #expect(start == (i == 0))
                #expect(end == (i == fragments.count - 1))
                #expect(header == 0x65)
                #expect(p.isKeyframe == (i == 0))  // only the start fragment can begin decoding
                if start { rebuilt.append(header) }
                rebuilt += Array(p.fragment!)
            }
        }
        #expect(rebuilt == big)
    }

    @Test(arguments: [
        ([UInt8](), CodecParseError.truncated),
        (hex("E5 00"), .malformed),  // forbidden bit
        (hex("00 00"), .malformed),  // type 0
        (hex("78"), .truncated),
        (hex("78 00"), .truncated),
        (hex("78 00 00"), .malformed),  // zero-size unit
        (hex("78 00 05 65 88"), .truncated),
        (hex("7C 85"), .truncated),
        (hex("7C C5 00"), .malformed),  // start and end together
        (hex("79 00"), .unsupported),  // STAP-B
        (hex("7D 85 00"), .unsupported),  // FU-B
    ])
    func rejectsMalformed(bytes: [UInt8], expected: CodecParseError) {
        #expect(throws: expected) { try bytes.withUnsafeBytes { _ = try H264Payload($0) } }
        #expect(bytes.withUnsafeBytes { H264Payload.isKeyframe($0) } == false)
    }
}
