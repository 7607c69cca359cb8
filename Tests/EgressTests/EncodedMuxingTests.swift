import CFFmpeg
import Foundation
import Testing
@testable import Egress

/// Streams declared from our encoders, muxed next to each other: what a transcoded recording or
/// the compositor writes.
@Suite struct EncodedMuxingTests {
    @Test func h264AndAACIntoFragmentedMP4() throws {
        let directory = TestMedia.outputDirectory("encoded-mp4")
        let path = directory + "/av.mp4"
        let muxer = try MediaMuxer(path: path, container: .mp4)
        #expect(RecordingContainer.mp4.needsGlobalHeader && !RecordingContainer.mp3.needsGlobalHeader)
        let video = try VideoEncoder(VideoEncoderSettings(width: 320, height: 240, globalHeader: true))
        let audio = try AudioEncoder(AudioEncoderSettings(codec: .aac, globalHeader: true))
        let videoStream = try muxer.addStream(from: video)
        let audioStream = try muxer.addStream(from: audio)
        try muxer.writeHeader()
        let picture = try VideoCodecTests.twoColourPicture(width: 320, height: 240)
        let tone = AudioCodecTests.sine(seconds: 1.0 / 30)  // 1600 samples per video frame
        for index in 0 ..< 60 {
            try video.encode(picture.frame, pts: Int64(index * 3000), duration: 3000) { (packet) throws(RecordingError) in try muxer.write(stream: videoStream, packet: packet) }
            try PlanarAudio.withChannels(tone) { samples in
                try audio.encode(samples, pts: Int64(index * 1600)) { (packet) throws(RecordingError) in try muxer.write(stream: audioStream, packet: packet) }
            }
        }
        try video.flush { (packet) throws(RecordingError) in try muxer.write(stream: videoStream, packet: packet) }
        try audio.flush { (packet) throws(RecordingError) in try muxer.write(stream: audioStream, packet: packet) }
        try muxer.finish()
        let probe = try ExternalTool.probe(path)
        let errors = try ExternalTool.decodeErrors(path)
        print("[codec] h264+aac mp4: duration \(probe.format.duration ?? "?") s, \(probe.format.size ?? "?") B, streams \(probe.streams.map { $0.codec_name ?? "?" }), decode errors: \(errors.isEmpty ? "none" : errors)")
        #expect(probe.video?.codec_name == "h264" && probe.video?.width == 320 && probe.video?.height == 240)
        #expect(probe.audio?.codec_name == "aac")
        #expect(abs(probe.durationSeconds - 2) < 0.15)
        #expect(errors.isEmpty)
    }

    @Test func mp3ContainerIsAudioOnlyAndCopiesNothing() {
        #expect(RecordingContainer(path: "/x/y.MP3") == .mp3)
        #expect(RecordingContainer.mp3.isAudioOnly && RecordingContainer.ogg.isAudioOnly && !RecordingContainer.mp4.isAudioOnly)
        #expect(RecordingCodec.allCases.allSatisfy { !RecordingContainer.mp3.supports($0) })
    }
}
