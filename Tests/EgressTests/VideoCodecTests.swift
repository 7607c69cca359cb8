import CFFmpeg
import Foundation
import Testing
@testable import Egress

/// H.264 encoding (libx264) and VP8/H.264 decoding, checked against each other and against real
/// streams made by the ffmpeg CLI.
@Suite struct VideoCodecTests {
    static let red = YUVColor(red: 220, green: 30, blue: 30)
    static let blue = YUVColor(red: 30, green: 30, blue: 220)

    /// A picture: left half red, right half blue.
    static func twoColourPicture(width: Int, height: Int) throws -> VideoFrameBuffer {
        let picture = try VideoFrameBuffer(width: width, height: height)
        try picture.fill(red)
        try picture.fill(blue, in: VideoRect(x: width / 2, y: 0, width: width - width / 2, height: height))
        return picture
    }

    static func near(_ a: UInt8, _ b: UInt8, _ tolerance: Int = 10) -> Bool { abs(Int(a) - Int(b)) <= tolerance }

    /// Encodes `count` frames, 30 fps in 90 kHz ticks, returning the packets' bytes and facts.
    static func encode(_ encoder: VideoEncoder, picture: VideoFrameBuffer, count: Int)
        throws -> [(bytes: [UInt8], pts: Int64, dts: Int64, duration: Int64, key: Bool)] {
        var packets: [(bytes: [UInt8], pts: Int64, dts: Int64, duration: Int64, key: Bool)] = []
        for index in 0 ..< count {
            try encoder.encode(picture.frame, pts: Int64(index * 3000), duration: 3000) { packet in
                packets.append((Array(packet.data), packet.pts, packet.dts, packet.duration, packet.isKeyframe))
            }
        }
        try encoder.flush { packet in packets.append((Array(packet.data), packet.pts, packet.dts, packet.duration, packet.isKeyframe)) }
        return packets
    }

    @Test func h264RoundTripKeepsSizeColourAndTiming() throws {
        let picture = try Self.twoColourPicture(width: 320, height: 240)
        let encoder = try VideoEncoder(VideoEncoderSettings(width: 320, height: 240, framesPerSecond: 30, bitrate: 500_000))
        #expect(encoder.extradata.isEmpty, "without a global header the parameter sets travel in-band")
        let packets = try Self.encode(encoder, picture: picture, count: 70)
        #expect(packets.count == 70, "zerolatency: one packet per picture")
        #expect(packets.map(\.pts) == (0 ..< 70).map { Int64($0 * 3000) })
        #expect(packets.allSatisfy { $0.dts == $0.pts && $0.duration == 3000 }, "no B-frames, durations carried through")
        let keyframes = packets.indices.filter { packets[$0].key }
        #expect(keyframes == [0, 60], "a keyframe every 2 s at 30 fps, got \(keyframes)")

        let decoder = try VideoDecoder(codec: .h264, h264Format: .annexB)
        var decoded: [(pts: Int64, width: Int32, height: Int32, left: UInt8, right: UInt8, leftU: UInt8, rightV: UInt8)] = []
        for packet in packets {
            packet.bytes.withUnsafeBytes { bytes in
                decoder.decode(bytes, pts: packet.pts) { frame in
                    decoded.append((frame.pointee.pts, frame.pointee.width, frame.pointee.height,
                                    VideoFrameBuffer.sample(frame, plane: 0, x: 80, y: 120),
                                    VideoFrameBuffer.sample(frame, plane: 0, x: 240, y: 120),
                                    VideoFrameBuffer.sample(frame, plane: 1, x: 40, y: 60),
                                    VideoFrameBuffer.sample(frame, plane: 2, x: 120, y: 60)))
                }
            }
        }
        decoder.flush { _ in decoded.append((0, 0, 0, 0, 0, 0, 0)) }
        #expect(decoder.errors == 0)
        #expect(decoded.count == 70)
        #expect(decoded.map(\.pts) == (0 ..< 70).map { Int64($0 * 3000) })
        let last = try #require(decoded.last)
        print("[codec] h264 round trip: \(packets.count) packets, \(packets.reduce(0) { $0 + $1.bytes.count }) B, keyframes \(keyframes), last \(last)")
        #expect(last.width == 320 && last.height == 240)
        #expect(Self.near(last.left, Self.red.y) && Self.near(last.right, Self.blue.y))
        #expect(Self.near(last.leftU, Self.red.u) && Self.near(last.rightV, Self.blue.v))
    }

    @Test func globalHeaderPutsParameterSetsInExtradata() throws {
        let picture = try Self.twoColourPicture(width: 160, height: 120)
        let encoder = try VideoEncoder(VideoEncoderSettings(width: 160, height: 120, globalHeader: true))
        #expect(encoder.extradata.count > 8, "SPS and PPS available right after open")
        let packets = try Self.encode(encoder, picture: picture, count: 5)
        // The frames lack SPS/PPS; a decoder given the extradata still decodes them.
        let decoder = try VideoDecoder(codec: .h264, extradata: encoder.extradata)
        var frames = 0
        for packet in packets {
            packet.bytes.withUnsafeBytes { decoder.decode($0, pts: packet.pts) { _ in frames += 1 } }
        }
        #expect(frames == 5 && decoder.errors == 0)
    }

    @Test func oddSizedPictureIsCroppedToTheEncoderSize() throws {
        let picture = try Self.twoColourPicture(width: 321, height: 241)
        let encoder = try VideoEncoder(VideoEncoderSettings(width: 320, height: 240))
        let packets = try Self.encode(encoder, picture: picture, count: 2)
        #expect(packets.count == 2)
        #expect(throws: RecordingError.self) { try VideoEncoder(VideoEncoderSettings(width: 321, height: 240)) }
        let small = try VideoFrameBuffer(width: 100, height: 100)
        #expect(throws: RecordingError.self) { try encoder.encode(small.frame, pts: 10_000) { _ in } }
    }

    @Test func decodesRealVP8() throws {
        let decoder = try VideoDecoder(codec: .vp8)
        var sizes: [String] = []
        for frame in TestMedia.vp8.prefix(40) {
            frame.data.withUnsafeBytes { bytes in
                decoder.decode(bytes, pts: Int64(frame.timestamp)) { picture in
                    sizes.append("\(picture.pointee.width)x\(picture.pointee.height)")
                    #expect(picture.pointee.pts == Int64(frame.timestamp))
                }
            }
        }
        #expect(sizes.count == 40 && Set(sizes) == ["320x240"] && decoder.errors == 0)
    }

    @Test func decodesRealH264LengthPrefixed() throws {
        let decoder = try VideoDecoder(codec: .h264, h264Format: .lengthPrefixed)
        var frames = 0
        for (index, unit) in TestMedia.h264.prefix(40).enumerated() {
            var bytes: [UInt8] = []
            for nal in unit {
                bytes += [UInt8(nal.count >> 24 & 0xFF), UInt8(nal.count >> 16 & 0xFF), UInt8(nal.count >> 8 & 0xFF), UInt8(nal.count & 0xFF)]
                bytes += nal
            }
            bytes.withUnsafeBytes { data in
                decoder.decode(data, pts: Int64(index * 3000)) { picture in
                    frames += 1
                    #expect(picture.pointee.width == 320 && picture.pointee.height == 240)
                }
            }
        }
        decoder.flush { _ in frames += 1 }
        #expect(frames == 40 && decoder.errors == 0)
    }

    @Test func garbageIsCountedNotThrown() throws {
        let decoder = try VideoDecoder(codec: .vp8)
        let junk: [UInt8] = Array(repeating: 0xAB, count: 50)
        var frames = 0
        junk.withUnsafeBytes { decoder.decode($0, pts: 0) { _ in frames += 1 } }
        #expect(frames == 0 && decoder.errors >= 1)
        #expect(throws: RecordingError.self) { try VideoDecoder(codec: .opus) }
    }
}
