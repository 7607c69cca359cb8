import CFFmpeg
import Foundation
import Testing
@testable import Egress

/// Opus decoding and AAC/MP3/Opus encoding: re-chunking, gaps, channel mixing, and files that
/// outside tools decode.
@Suite struct AudioCodecTests {
    /// `seconds` of a 440 Hz sine at 48 kHz, the same on every channel.
    static func sine(seconds: Double, channels: Int = 2, amplitude: Float = 0.5) -> [[Float]] {
        let count = Int(seconds * 48000)
        let wave = (0 ..< count).map { amplitude * sin(2 * Float.pi * 440 * Float($0) / 48000) }
        return Array(repeating: wave, count: channels)
    }

    /// Feeds `channels` in runs of `run` samples with their pts.
    static func encode(_ encoder: AudioEncoder, _ channels: [[Float]], run: Int, startPTS: Int64 = 0) throws -> [(bytes: [UInt8], pts: Int64, duration: Int64)] {
        var packets: [(bytes: [UInt8], pts: Int64, duration: Int64)] = []
        var offset = 0
        while offset < channels[0].count {
            let end = min(offset + run, channels[0].count)
            let slice = channels.map { Array($0[offset ..< end]) }
            try PlanarAudio.withChannels(slice) { audio in
                try encoder.encode(audio, pts: startPTS + Int64(offset)) { packets.append((Array($0.data), $0.pts, $0.duration)) }
            }
            offset = end
        }
        try encoder.flush { packets.append((Array($0.data), $0.pts, $0.duration)) }
        return packets
    }

    /// Root mean square of the middle of a signal (away from codec start-up and tail).
    static func rms(_ samples: [Float]) -> Float {
        let middle = samples[samples.count / 4 ..< samples.count * 3 / 4]
        return (middle.reduce(0) { $0 + $1 * $1 } / Float(max(1, middle.count))).squareRoot()
    }

    @Test func opusRoundTripThroughOurDecoder() throws {
        let encoder = try AudioEncoder(AudioEncoderSettings(codec: .opus, bitrate: 64000))
        #expect(encoder.frameSize == 960)
        #expect(!encoder.extradata.isEmpty, "libopus gives its OpusHead")
        let packets = try Self.encode(encoder, Self.sine(seconds: 1), run: 333)
        let decoder = try AudioDecoder(channels: 2)
        var left: [Float] = [], right: [Float] = []
        for packet in packets {
            packet.bytes.withUnsafeBytes { bytes in
                decoder.decode(bytes, pts: packet.pts) { audio, _ in
                    #expect(audio.channelCount == 2)
                    left += audio.channel(0)
                    right += audio.channel(1)
                }
            }
        }
        let level = Self.rms(left)
        print("[codec] opus: \(packets.count) packets, decoded \(left.count) samples, rms \(level) (sine 0.5 -> 0.354)")
        #expect(decoder.errors == 0)
        #expect(abs(left.count - 48000) <= 960 * 2)
        #expect(abs(level - 0.354) < 0.05 && abs(Self.rms(right) - 0.354) < 0.05)
    }

    @Test func realOpusDecodesAt48kHzFloatPlanar() throws {
        let decoder = try AudioDecoder()
        var samples = 0
        for packet in TestMedia.opus.prefix(50) {
            packet.data.withUnsafeBytes { decoder.decode($0, pts: Int64(packet.timestamp)) { audio, pts in
                samples += audio.sampleCount
                #expect(pts == Int64(packet.timestamp))
            } }
        }
        #expect(samples == 50 * 960 && decoder.errors == 0)
    }

    @Test func aacRechunksArbitraryRunsToWholeFrames() throws {
        let encoder = try AudioEncoder(AudioEncoderSettings(codec: .aac, globalHeader: true))
        #expect(encoder.frameSize == 1024)
        #expect(!encoder.extradata.isEmpty, "AudioSpecificConfig for MP4")
        let packets = try Self.encode(encoder, Self.sine(seconds: 1), run: 777)
        // 48000 samples = 46 frames and a short one, plus the encoder's priming frame.
        let covered = packets.reduce(Int64(0)) { $0 + $1.duration }
        print("[codec] aac: \(packets.count) packets, first pts \(packets.first?.pts ?? 0), samples covered \(covered)")
        #expect(packets.count >= 47 && packets.count <= 49)
        #expect(zip(packets, packets.dropFirst()).allSatisfy { $0.pts < $1.pts }, "increasing pts")
    }

    @Test func gapsBecomeSilence() throws {
        let encoder = try AudioEncoder(AudioEncoderSettings(codec: .mp3))
        #expect(encoder.frameSize == 1152)
        let tone = Self.sine(seconds: 0.1)
        try PlanarAudio.withChannels(tone) { try encoder.encode($0, pts: 1000) { _ in } }
        // 0.1 s missing, then the next run.
        try PlanarAudio.withChannels(tone) { try encoder.encode($0, pts: 1000 + 4800 + 4800) { _ in } }
        #expect(encoder.silenceInserted == 4800)
        // Overlapping or contiguous pts add nothing.
        try PlanarAudio.withChannels(tone) { try encoder.encode($0, pts: 1000 + 3 * 4800 - 10) { _ in } }
        #expect(encoder.silenceInserted == 4800)
    }

    @Test func monoInputIsCopiedToBothChannelsAndStereoAveragedToMono() throws {
        var fifo = AudioSampleFIFO(channels: 2)
        PlanarAudio.withChannels([[0.25, 0.5]]) { fifo.append($0) }
        var mono = AudioSampleFIFO(channels: 1)
        PlanarAudio.withChannels([[1, 1], [0, -1]]) { mono.append($0) }
        let frame = try #require(av_frame_alloc())
        defer { var doomed: UnsafeMutablePointer<AVFrame>? = frame; av_frame_free(&doomed) }
        frame.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
        frame.pointee.nb_samples = 4
        av_channel_layout_default(&frame.pointee.ch_layout, 2)
        #expect(av_frame_get_buffer(frame, 0) >= 0)
        #expect(fifo.read(4, into: frame) == 2)
        let stereo = try #require(PlanarAudio(frame: frame))
        #expect(Array(stereo.channel(0).prefix(2)) == [0.25, 0.5] && Array(stereo.channel(1).prefix(2)) == [0.25, 0.5])
        #expect(mono.read(4, into: frame) == 2)
        #expect(Array(PlanarAudio(frame: frame)!.channel(0).prefix(2)) == [0.5, 0])
    }

    /// AAC into MP4 and MP3 into an .mp3 file through our muxer; ffprobe and a full ffmpeg decode judge.
    @Test(arguments: [AudioEncoderSettings.Codec.aac, .mp3, .opus])
    func encodedAudioFileDecodesCleanly(_ codec: AudioEncoderSettings.Codec) throws {
        let container: RecordingContainer = switch codec {
        case .aac: .mp4
        case .mp3: .mp3
        case .opus: .ogg
        }
        let directory = TestMedia.outputDirectory("audio-\(codec.rawValue)")
        let path = directory + "/tone." + container.fileExtension
        let muxer = try MediaMuxer(path: path, container: container)
        let encoder = try AudioEncoder(AudioEncoderSettings(codec: codec, globalHeader: container.needsGlobalHeader))
        let stream = try muxer.addStream(from: encoder)
        try muxer.writeHeader()
        for packet in try Self.encode(encoder, Self.sine(seconds: 2), run: 960) {
            try packet.bytes.withUnsafeBytes { data in
                try muxer.write(stream: stream, packet: EncodedPacket(data: data, pts: packet.pts, dts: packet.pts,
                                                                      duration: packet.duration, isKeyframe: true))
            }
        }
        try muxer.finish()
        let probe = try ExternalTool.probe(path)
        let errors = try ExternalTool.decodeErrors(path)
        print("[codec] \(codec.rawValue) in .\(container.fileExtension): \(probe.format.format_name ?? "?") duration \(probe.format.duration ?? "?") s, \(probe.format.size ?? "?") B, decode errors: \(errors.isEmpty ? "none" : errors)")
        #expect(probe.streams.count == 1)
        #expect(probe.audio?.codec_name == codec.rawValue)
        #expect(probe.audio?.sample_rate == "48000" && probe.audio?.channels == 2)
        #expect(abs(probe.durationSeconds - 2) < 0.1)
        #expect(errors.isEmpty)
    }
}
