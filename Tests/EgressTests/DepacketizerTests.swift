import Media
import Testing
@testable import Egress

/// Hand-made packets through each depacketizer: what is emitted, when, and what is dropped.
@Suite struct DepacketizerTests {
    struct Emitted: Equatable {
        var data: [UInt8]
        var timestamp: UInt32
        var keyframe: Bool
    }

    static func push(_ depacketizer: some Depacketizer, seq: UInt16, ts: UInt32, marker: Bool, payload: [UInt8],
                     lostBefore: Int = 0) -> [Emitted] {
        let bytes = try! RTPPacketBuilder(marker: marker, payloadType: 96, sequenceNumber: seq, timestamp: ts, ssrc: 1,
                                          payload: payload).bytes()
        var out: [Emitted] = []
        bytes.withUnsafeBytes { raw in
            let packet = try! RTPPacket(raw)
            depacketizer.push(packet, lostBefore: lostBefore) {
                out.append(Emitted(data: Array($0.data), timestamp: $0.rtpTimestamp, keyframe: $0.isKeyframe))
            }
        }
        return out
    }

    // MARK: VP8

    /// Descriptor byte (S bit, PID 0) followed by VP8 data whose first byte carries P (0 = key).
    static let keyStart: [UInt8] = [0x10, 0x00, 0x00, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00]
    static let deltaStart: [UInt8] = [0x10, 0x01, 0x02, 0x03]
    static let continuation: [UInt8] = [0x00, 0xEE, 0xFF]

    @Test func vp8FrameSpanningPacketsIsJoinedWithoutDescriptors() {
        let d = VP8Depacketizer()
        #expect(Self.push(d, seq: 1, ts: 100, marker: false, payload: Self.keyStart).isEmpty)
        let out = Self.push(d, seq: 2, ts: 100, marker: true, payload: Self.continuation)
        #expect(out == [Emitted(data: Array(Self.keyStart.dropFirst()) + [0xEE, 0xFF], timestamp: 100, keyframe: true)])
        #expect(VP8Depacketizer.keyframeDimensions(UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
        let size = out[0].data.withUnsafeBytes { VP8Depacketizer.keyframeDimensions($0) }
        #expect(size?.width == 320 && size?.height == 240)
    }

    @Test func vp8DeltaBeforeAnyKeyframeIsDropped() {
        let d = VP8Depacketizer()
        #expect(Self.push(d, seq: 1, ts: 100, marker: true, payload: Self.deltaStart).isEmpty)
        #expect(d.needsKeyframe)
        #expect(Self.push(d, seq: 2, ts: 200, marker: true, payload: Self.keyStart).count == 1)
        #expect(!d.needsKeyframe)
        #expect(Self.push(d, seq: 3, ts: 300, marker: true, payload: Self.deltaStart).first?.keyframe == false)
    }

    @Test func vp8FrameWithoutMarkerClosesWhenTheTimestampMoves() {
        let d = VP8Depacketizer()
        #expect(Self.push(d, seq: 1, ts: 100, marker: false, payload: Self.keyStart).isEmpty)
        let out = Self.push(d, seq: 2, ts: 200, marker: true, payload: Self.deltaStart)
        #expect(out.map(\.timestamp) == [100, 200])
    }

    @Test func vp8LossInsideAFrameDropsItAndWaitsForAKeyframe() {
        let d = VP8Depacketizer()
        _ = Self.push(d, seq: 1, ts: 100, marker: true, payload: Self.keyStart)
        #expect(Self.push(d, seq: 2, ts: 200, marker: false, payload: Self.deltaStart).isEmpty)
        #expect(Self.push(d, seq: 4, ts: 200, marker: true, payload: Self.continuation, lostBefore: 1).isEmpty)
        #expect(d.needsKeyframe)
        #expect(Self.push(d, seq: 5, ts: 300, marker: true, payload: Self.deltaStart).isEmpty, "delta after loss")
        #expect(Self.push(d, seq: 6, ts: 400, marker: true, payload: Self.keyStart).map(\.keyframe) == [true])
        #expect(d.framesDropped == 2)
    }

    @Test func vp8FrameMissingItsFirstPacketIsDropped() {
        let d = VP8Depacketizer()
        _ = Self.push(d, seq: 1, ts: 100, marker: true, payload: Self.keyStart)
        #expect(Self.push(d, seq: 3, ts: 200, marker: true, payload: Self.continuation, lostBefore: 1).isEmpty)
        #expect(d.needsKeyframe)
    }

    // MARK: H.264

    static let sps: [UInt8] = [0x67, 0x42, 0xC0, 0x0D, 0xD9, 0x01, 0x41, 0xFB, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xC0, 0xF1, 0x42, 0xA4, 0x80]
    static let pps: [UInt8] = [0x68, 0xCB, 0x83, 0xCB, 0x20]
    static let idr: [UInt8] = [0x65, 0x88, 0x84, 0x00, 0x33, 0xFF]
    static let slice: [UInt8] = [0x41, 0x9A, 0x02, 0x03]

    static func lengthPrefixed(_ units: [[UInt8]]) -> [UInt8] {
        units.flatMap { [0, 0, UInt8($0.count >> 8), UInt8($0.count & 0xFF)] + $0 }
    }

    @Test func h264StapAKeyframeBecomesLengthPrefixedAccessUnit() {
        let d = H264Depacketizer()
        let out = Self.push(d, seq: 1, ts: 9000, marker: true, payload: H264Payload.stapA([Self.sps, Self.pps, Self.idr])!)
        #expect(out == [Emitted(data: Self.lengthPrefixed([Self.sps, Self.pps, Self.idr]), timestamp: 9000, keyframe: true)])
        #expect(d.sequenceParameterSet == Self.sps && d.pictureParameterSet == Self.pps)
    }

    @Test func h264FragmentsAreReassembled() {
        let d = H264Depacketizer(outputFormat: .annexB)
        _ = Self.push(d, seq: 1, ts: 0, marker: false, payload: H264Payload.stapA([Self.sps, Self.pps])!)
        let big = [UInt8(0x65)] + (0..<300).map { UInt8($0 & 0xFF) }
        let fragments = H264Payload.fuA(big, maxPayloadSize: 100)
        #expect(fragments.count == 4)
        var out: [Emitted] = []
        for (i, fragment) in fragments.enumerated() {
            out += Self.push(d, seq: UInt16(2 + i), ts: 0, marker: i == fragments.count - 1, payload: fragment)
        }
        let startCode: [UInt8] = [0, 0, 0, 1]
        #expect(out == [Emitted(data: startCode + Self.sps + startCode + Self.pps + startCode + big, timestamp: 0, keyframe: true)])
    }

    @Test func h264MissingFragmentDropsTheFrame() {
        let d = H264Depacketizer()
        _ = Self.push(d, seq: 1, ts: 0, marker: true, payload: H264Payload.stapA([Self.sps, Self.pps, Self.idr])!)
        let fragments = H264Payload.fuA([0x41] + [UInt8](repeating: 7, count: 250), maxPayloadSize: 100)
        #expect(Self.push(d, seq: 2, ts: 3000, marker: false, payload: fragments[0]).isEmpty)
        #expect(Self.push(d, seq: 4, ts: 3000, marker: true, payload: fragments[2], lostBefore: 1).isEmpty)
        #expect(d.needsKeyframe)
        #expect(Self.push(d, seq: 5, ts: 6000, marker: true, payload: Self.slice).isEmpty, "P slice after loss")
        #expect(Self.push(d, seq: 6, ts: 9000, marker: true, payload: Self.idr).map(\.keyframe) == [true],
                "an IDR alone is a keyframe once SPS and PPS are known")
    }

    @Test func h264IDRWithoutParameterSetsIsNotAStart() {
        let d = H264Depacketizer()
        #expect(Self.push(d, seq: 1, ts: 0, marker: true, payload: Self.idr).isEmpty)
        #expect(Self.push(d, seq: 2, ts: 3000, marker: true, payload: Self.slice).isEmpty)
    }

    @Test func h264MiddleFragmentWithoutStartIsBroken() {
        let d = H264Depacketizer()
        _ = Self.push(d, seq: 1, ts: 0, marker: true, payload: H264Payload.stapA([Self.sps, Self.pps, Self.idr])!)
        let fragments = H264Payload.fuA([0x41] + [UInt8](repeating: 7, count: 250), maxPayloadSize: 100)
        #expect(Self.push(d, seq: 2, ts: 3000, marker: true, payload: fragments[1]).isEmpty)
        #expect(d.needsKeyframe)
    }

    @Test func sequenceParameterSetGivesThePictureSize() {
        // libx264 baseline 320x240, level 1.3 (bytes from an encode; 20x15 macroblocks, no cropping).
        let sps = H264SequenceParameterSet(Self.sps)
        #expect(sps?.width == 320 && sps?.height == 240)
        #expect(sps?.profileIDC == 66)
        #expect(H264SequenceParameterSet([0x67, 0x42]) == nil)
        #expect(H264SequenceParameterSet(Self.pps) == nil)
    }

    // MARK: Opus

    @Test func opusPacketIsAFrame() {
        let d = OpusDepacketizer()
        #expect(Self.push(d, seq: 1, ts: 960, marker: false, payload: [0xFC, 1, 2]) == [Emitted(data: [0xFC, 1, 2], timestamp: 960, keyframe: true)])
        #expect(Self.push(d, seq: 3, ts: 2880, marker: false, payload: [0xFC], lostBefore: 1).count == 1, "loss does not stop audio")
        #expect(Self.push(d, seq: 4, ts: 3840, marker: false, payload: []).isEmpty)
        #expect(!d.needsKeyframe)
    }
}
