import Foundation
import Testing
@testable import Egress

/// Recordings whose tracks are transcoded on the way in: VP8 -> H.264 for MP4, Opus -> MP3 for
/// MP3 files, Opus -> AAC when asked. Same inputs and judges as `RecordingTests`.
@Suite(.serialized) struct TranscodingTests {
    typealias R = RecordingTests

    @Test func whatEachTrackBecomes() {
        #expect(RecordingContainer.mp4.output(for: .vp8) == .h264)
        #expect(RecordingContainer.mp4.output(for: .h264) == .copy)
        #expect(RecordingContainer.mp4.output(for: .opus) == .copy)
        #expect(RecordingContainer.mp4.output(for: .opus, audioCodec: .aac) == .audio(.aac))
        #expect(RecordingContainer.mp4.output(for: .opus, audioCodec: .opus) == .copy)
        #expect(RecordingContainer.mp4.output(for: .h264, audioCodec: .aac) == .copy, "the audio wish leaves video alone")
        #expect(RecordingContainer.webm.output(for: .vp8) == .copy)
        #expect(RecordingContainer.webm.output(for: .h264) == nil, "no VP8 encoder")
        #expect(RecordingContainer.webm.output(for: .opus, audioCodec: .aac) == nil)
        #expect(RecordingContainer.mkv.output(for: .vp8) == .copy && RecordingContainer.mkv.output(for: .h264) == .copy)
        #expect(RecordingContainer.mkv.output(for: .opus, audioCodec: .aac) == .audio(.aac))
        #expect(RecordingContainer.mp3.output(for: .opus) == .audio(.mp3))
        #expect(RecordingContainer.mp3.output(for: .opus, audioCodec: .aac) == nil)
        #expect(RecordingContainer.mp3.output(for: .vp8) == nil && RecordingContainer.ogg.output(for: .vp8) == nil)
        #expect(RecordingContainer.ogg.output(for: .opus) == .copy)
        #expect(TrackTranscoder.videoBitrate(width: 1280, height: 720) == 3_072_000)
    }

    @Test func vp8AndOpusToMP4TranscodesTheVideoOnly() throws {
        let directory = TestMedia.outputDirectory("vp8-mp4")
        let recorder = try FileRecorder(path: directory + "/participant.mp4", tracks: [R.vp8Track, R.opusTrack])
        #expect(recorder.tracks.map(\.output) == [.h264, .copy])
        // Shuffled and duplicated: the transcoder sees frames in order all the same.
        let packets = PacketSchedule.duplicated(PacketSchedule.shuffled(
            PacketSchedule.merged(R.vp8Packets(track: 0), R.opusPackets(track: 1)), window: 6, seed: 5), every: 9)
        R.feed(recorder, packets)
        let result = try recorder.finish()
        print("[egress] vp8->h264 result: \(result)")
        #expect(result.framesWritten == [TestMedia.vp8.count, TestMedia.opus.count])
        #expect(recorder.tracks[0].transcoder?.encodedSize.map { [$0.width, $0.height] } == [320, 240])
        #expect(recorder.tracks[0].transcoder?.decodeErrors == 0)
        let (probe, _) = try R.judge(result.filename, video: ("h264", 320, 240), audio: "opus", duration: TestMedia.seconds,
                                     label: "vp8->h264+opus mp4")
        #expect(probe.streams.count == 2)
        let counted = try ExternalTool.run("ffprobe", ["-v", "error", "-select_streams", "v", "-count_packets",
                                                       "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", result.filename])
        #expect(counted.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(TestMedia.vp8.count)",
                "one H.264 picture per VP8 frame")
    }

    @Test func vp8LossStillGivesACleanH264File() throws {
        let directory = TestMedia.outputDirectory("vp8-mp4-loss")
        let recorder = try FileRecorder(path: directory + "/track.mp4", tracks: [R.vp8Track])
        let packets = R.vp8Packets()
        let victim = packets.firstIndex { RTPTestView($0.bytes).timestamp == TestMedia.videoTimestampBase &+ 30_000 }!
        R.feed(recorder, PacketSchedule.dropping(packets) { $0 == victim })
        let result = try recorder.finish()
        #expect(result.framesWritten == [TestMedia.vp8.count - 20])
        try R.judge(result.filename, video: ("h264", 320, 240), audio: nil, duration: TestMedia.seconds, label: "vp8->h264 with loss mp4")
    }

    @Test func opusToMP3() throws {
        let directory = TestMedia.outputDirectory("mp3")
        let recorder = try FileRecorder(path: directory + "/mic.mp3", tracks: [R.opusTrack])
        #expect(recorder.container == .mp3 && recorder.tracks[0].output == .audio(.mp3))
        R.feed(recorder, PacketSchedule.shuffled(R.opusPackets(), window: 4, seed: 2))
        let result = try recorder.finish()
        print("[egress] opus->mp3 result: \(result)")
        let (probe, _) = try R.judge(result.filename, video: nil, audio: "mp3", duration: TestMedia.seconds, tolerance: 0.1, label: "opus->mp3")
        #expect(probe.streams.count == 1)
    }

    /// 0.5 s of lost audio in the middle: the MP3 (which has no timestamps) keeps its length
    /// because the gap is filled with silence.
    @Test func lostAudioKeepsTheMP3sLength() throws {
        let directory = TestMedia.outputDirectory("mp3-gap")
        let recorder = try FileRecorder(path: directory + "/mic.mp3", tracks: [R.opusTrack])
        let packets = R.opusPackets()
        R.feed(recorder, packets.enumerated().filter { !(50 ..< 75).contains($0.offset) }.map(\.element))
        let result = try recorder.finish()
        try R.judge(result.filename, video: nil, audio: "mp3", duration: TestMedia.seconds, tolerance: 0.1, label: "opus->mp3 with a gap")
    }

    @Test func opusToAACWhenAsked() throws {
        let directory = TestMedia.outputDirectory("aac")
        let recorder = try FileRecorder(path: directory + "/room.mp4", tracks: [R.h264Track, R.opusTrack], audioCodec: .aac)
        #expect(recorder.tracks.map(\.output) == [.copy, .audio(.aac)])
        R.feed(recorder, PacketSchedule.merged(R.h264Packets(track: 0), R.opusPackets(track: 1)))
        let result = try recorder.finish()
        let (probe, _) = try R.judge(result.filename, video: ("h264", 320, 240), audio: "aac", duration: TestMedia.seconds,
                                     label: "h264+opus->aac mp4")
        print("[egress] aac start \(probe.audio?.start_time ?? "?") video start \(probe.video?.start_time ?? "?")")
    }

    /// An encoder that cannot open fails the recording with a reason, and nothing traps.
    @Test func encoderFailureIsATypedError() throws {
        #expect {
            _ = try TrackTranscoder(track: R.vp8Track, output: .h264, width: 1, height: 1, globalHeader: true)
        } throws: { error in
            guard case .codecFailed(let why) = error as? RecordingError else { return false }
            return why.contains("too small")
        }
        #expect(throws: RecordingError.self) {
            _ = try TrackTranscoder(track: R.opusTrack, output: .h264, width: 320, height: 240, globalHeader: true)
        }
        let directory = TestMedia.outputDirectory("transcode-fail")
        let recorder = try FileRecorder(path: directory + "/x.mp4", tracks: [R.vp8Track])
        var reported: [RecordingError] = []
        recorder.onFailure = { reported.append($0) }
        // A 1x1 VP8 keyframe header: the file's header waits for it, then the encoder refuses the size.
        var packetizer = TestPacketizer(payloadType: 96)
        let tiny: [UInt8] = [0x50, 0x01, 0x00, 0x9D, 0x01, 0x2A, 0x01, 0x00, 0x01, 0x00] + Array(repeating: 0, count: 20)
        for bytes in packetizer.vp8(SourceFrame(data: tiny, timestamp: 1000)) {
            bytes.withUnsafeBytes { recorder.receiveRTP($0, track: 0, arrivalNanoseconds: 1_000_000) }
        }
        #expect(throws: RecordingError.self) { _ = try recorder.finish() }
        #expect(reported.count == 1)
        if case .codecFailed? = reported.first {} else { Issue.record("expected codecFailed, got \(reported)") }
    }

    @Test func impossibleOutputsAreRefusedUpFront() throws {
        let directory = TestMedia.outputDirectory("transcode-refused")
        #expect(throws: RecordingError.codecNotAllowedInContainer(codec: .opus, container: .ogg)) {
            _ = try FileRecorder(path: directory + "/x.ogg", tracks: [R.opusTrack], audioCodec: .aac)
        }
    }
}

/// The transcoded video's constant frame rate: uneven input becomes a steady 30 fps grid.
@Suite struct TranscodedFrameRateTests {
    @Test func unevenFramesBecomeA30fpsGridAndLongPausesAreNotFilled() throws {
        let directory = TestMedia.outputDirectory("vp8-cfr")
        let recorder = try FileRecorder(path: directory + "/track.mp4", tracks: [RecordingTests.vp8Track])
        // The 30 fps source re-timed as 20 fps with +-8 ms of jitter, and a 7 s pause after frame 39.
        var packetizer = TestPacketizer(payloadType: 96)
        var packets: [TimedPacket] = []
        var arrival: UInt64 = 1_000_000_000
        for (index, frame) in TestMedia.vp8.prefix(60).enumerated() {
            let jitter = Int64([0, 8, -5, 3, -8, 6][index % 6]) * 1_000_000
            var at = Int64(index) * 50_000_000 + jitter + (index >= 40 ? 7_000_000_000 : 0)
            at = max(0, at)
            var retimed = frame
            retimed.timestamp = TestMedia.videoTimestampBase &+ UInt32(truncatingIfNeeded: at * 90 / 1_000_000)
            for bytes in packetizer.vp8(retimed) {
                packets.append(TimedPacket(bytes: bytes, track: 0, arrival: arrival + UInt64(at)))
            }
        }
        RecordingTests.feed(recorder, packets)
        let result = try recorder.finish()
        let times = try ExternalTool.run("ffprobe", ["-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time",
                                                     "-of", "csv=p=0", result.filename]).stdout
            .split(separator: "\n").compactMap { Double($0) }.sorted()
        let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
        let steady = gaps.filter { abs($0 - 1.0 / 30) < 0.0005 }.count
        let long = gaps.filter { $0 > 0.1 }
        print("[egress] cfr: \(times.count) frames over \(times.last ?? 0) s, \(steady) steady gaps, long gaps \(long)")
        #expect(steady == gaps.count - long.count, "every gap but the pause is exactly 1/30 s")
        #expect(long.count == 1, "the 7 s pause is held for 5 s, then skipped")
        #expect(abs((times.last ?? 0) - 9.95) < 0.1)
        try RecordingTests.judge(result.filename, video: ("h264", 320, 240), audio: nil, duration: 10.0, tolerance: 0.1,
                                 label: "vp8->h264 cfr with a pause")
    }
}
