import Foundation
import Media
import Testing
@testable import Egress

/// End to end: real encoded media (made by the ffmpeg CLI) -> RTP packets -> FileRecorder -> a
/// file judged by ffprobe and by a full decode with ffmpeg.
@Suite(.serialized) struct RecordingTests {
    static let vp8Track = RecordingTrack(kind: .video, codec: .vp8, clockRate: 90000, payloadType: 96)
    static let h264Track = RecordingTrack(kind: .video, codec: .h264, clockRate: 90000, payloadType: 102)
    static let opusTrack = RecordingTrack(kind: .audio, codec: .opus, clockRate: 48000, payloadType: 111, channels: 2)
    static let frameInterval: UInt64 = 33_333_333

    static func vp8Packets(track: Int = 0, start: UInt64 = 1_000_000_000) -> [TimedPacket] {
        var packetizer = TestPacketizer(payloadType: 96)
        return PacketSchedule.timed(TestMedia.vp8.map { packetizer.vp8($0) }, track: track, frameInterval: frameInterval, start: start)
    }

    static func h264Packets(track: Int = 0) -> [TimedPacket] {
        var packetizer = TestPacketizer(payloadType: 102)
        let units = TestMedia.h264.enumerated().map { index, unit in
            packetizer.h264(unit, timestamp: TestMedia.videoTimestampBase &+ UInt32(index * 3000))
        }
        return PacketSchedule.timed(units, track: track, frameInterval: frameInterval)
    }

    static func opusPackets(track: Int = 0) -> [TimedPacket] {
        var packetizer = TestPacketizer(payloadType: 111, ssrc: 0x5566, firstSequence: 100)
        return PacketSchedule.timed(TestMedia.opus.map { packetizer.opus($0) }, track: track, frameInterval: 20_000_000)
    }

    static func feed(_ recorder: FileRecorder, _ packets: [TimedPacket]) {
        for packet in packets {
            packet.bytes.withUnsafeBytes { recorder.receiveRTP($0, track: packet.track, arrivalNanoseconds: packet.arrival) }
        }
    }

    /// Probes and fully decodes `path`, checking what every recording must satisfy.
    @discardableResult
    static func judge(_ path: String, video: (codec: String, width: Int, height: Int)?, audio: String?,
                      duration: Double, tolerance: Double = 0.5, label: String) throws -> (probe: Probe, seconds: Double) {
        let probe = try ExternalTool.probe(path)
        let errors = try ExternalTool.decodeErrors(path)
        // A file cut off by a crash may not say its duration; then measure it packet by packet.
        let measured = probe.format.duration != nil ? probe.durationSeconds : try ExternalTool.packetSpan(path)
        print("[egress] \(label): \(probe.format.format_name ?? "?") duration=\(probe.format.duration ?? "(none; packets span \(measured))") s size=\(probe.format.size ?? "?") B streams=\(probe.streams.map { "\($0.codec_name ?? "?")\($0.width.map { " \($0)x\(probe.video?.height ?? 0)" } ?? "")" }) frames=\(probe.streams.map { $0.nb_frames ?? "-" }) decodeErrors=\(errors.isEmpty ? "none" : errors)")
        #expect(errors.isEmpty, "ffmpeg decode of \(label) printed: \(errors)")
        if let video {
            #expect(probe.video?.codec_name == video.codec)
            #expect(probe.video?.width == video.width)
            #expect(probe.video?.height == video.height)
        } else {
            #expect(probe.video == nil)
        }
        if let audio {
            #expect(probe.audio?.codec_name == audio)
            #expect(probe.audio?.sample_rate == "48000")
        } else {
            #expect(probe.audio == nil)
        }
        #expect(abs(measured - duration) <= tolerance, "\(label): duration \(measured), expected \(duration)")
        return (probe, measured)
    }

    // MARK: Single tracks, as track egress writes them

    @Test func vp8InOrderToWebM() throws {
        let directory = TestMedia.outputDirectory("vp8")
        let recorder = try FileRecorder(path: directory + "/track", tracks: [Self.vp8Track])
        #expect(recorder.container == .webm && recorder.path.hasSuffix("/track.webm"), "VP8 track egress picks WebM")
        Self.feed(recorder, Self.vp8Packets())
        let result = try recorder.finish()
        print("[egress] vp8 result: \(result)")
        #expect(result.framesWritten == [TestMedia.vp8.count])
        #expect(abs(Double(result.durationNanoseconds) / 1e9 - TestMedia.seconds) < 0.1)
        #expect(result.sizeBytes == (try FileManager.default.attributesOfItem(atPath: result.filename)[.size] as? NSNumber)?.int64Value)
        try Self.judge(result.filename, video: ("vp8", 320, 240), audio: nil, duration: TestMedia.seconds, label: "vp8 webm")
    }

    @Test func vp8ShuffledAndDuplicatedLosesNothing() throws {
        let directory = TestMedia.outputDirectory("vp8-shuffled")
        let recorder = try FileRecorder(path: directory + "/track.webm", tracks: [Self.vp8Track])
        var requests = 0
        recorder.onKeyframeNeeded = { _ in requests += 1 }
        let packets = PacketSchedule.duplicated(PacketSchedule.shuffled(Self.vp8Packets(), window: 8, seed: 7), every: 5)
        Self.feed(recorder, packets)
        let result = try recorder.finish()
        #expect(result.framesWritten == [TestMedia.vp8.count], "reordering and duplicates cost no frame")
        #expect(recorder.tracks[0].reorderBuffer.packetsLost == 0)
        try Self.judge(result.filename, video: ("vp8", 320, 240), audio: nil, duration: TestMedia.seconds, label: "vp8 shuffled+dup webm")
    }

    @Test func vp8LossWaitsForNextKeyframeAndAsksForIt() throws {
        let directory = TestMedia.outputDirectory("vp8-loss")
        let recorder = try FileRecorder(path: directory + "/track.webm", tracks: [Self.vp8Track])
        var requests: [Int] = []
        recorder.onKeyframeNeeded = { requests.append($0) }
        // Lose one packet in frame 10 (second GOP keeps going until the keyframe at frame 30).
        let packets = Self.vp8Packets()
        let victim = packets.firstIndex { RTPTestView($0.bytes).timestamp == TestMedia.videoTimestampBase &+ 30_000 }!
        Self.feed(recorder, PacketSchedule.dropping(packets) { $0 == victim })
        let result = try recorder.finish()
        #expect(requests.contains(0), "a keyframe was requested after the loss")
        let written = result.framesWritten[0]
        #expect(written == TestMedia.vp8.count - 20, "frames 10..<30 dropped until the keyframe at 30, wrote \(written)")
        try Self.judge(result.filename, video: ("vp8", 320, 240), audio: nil, duration: TestMedia.seconds, label: "vp8 with loss webm")
    }

    @Test func h264ShuffledToFragmentedMP4() throws {
        let directory = TestMedia.outputDirectory("h264")
        let recorder = try FileRecorder(path: directory + "/track", tracks: [Self.h264Track])
        #expect(recorder.container == .mp4, "H.264 track egress picks MP4")
        let packets = PacketSchedule.duplicated(PacketSchedule.shuffled(Self.h264Packets(), window: 6, seed: 3), every: 7)
        Self.feed(recorder, packets)
        let result = try recorder.finish()
        print("[egress] h264 result: \(result)")
        #expect(result.framesWritten == [TestMedia.h264.count])
        try Self.judge(result.filename, video: ("h264", 320, 240), audio: nil, duration: TestMedia.seconds, label: "h264 mp4")
    }

    @Test func h264LossDropsUntilKeyframe() throws {
        let directory = TestMedia.outputDirectory("h264-loss")
        let recorder = try FileRecorder(path: directory + "/track.mp4", tracks: [Self.h264Track])
        var requests = 0
        recorder.onKeyframeNeeded = { _ in requests += 1 }
        let packets = Self.h264Packets()
        let victim = packets.firstIndex { RTPTestView($0.bytes).timestamp == TestMedia.videoTimestampBase &+ 45 * 3000 }!
        Self.feed(recorder, PacketSchedule.dropping(packets) { $0 == victim })
        let result = try recorder.finish()
        #expect(requests > 0)
        #expect(result.framesWritten == [TestMedia.h264.count - 15], "frames 45..<60 dropped")
        try Self.judge(result.filename, video: ("h264", 320, 240), audio: nil, duration: TestMedia.seconds, label: "h264 with loss mp4")
    }

    @Test func opusToOgg() throws {
        let directory = TestMedia.outputDirectory("opus")
        let recorder = try FileRecorder(path: directory + "/track", tracks: [Self.opusTrack])
        #expect(recorder.container == .ogg, "Opus track egress picks Ogg")
        Self.feed(recorder, PacketSchedule.shuffled(Self.opusPackets(), window: 4, seed: 11))
        let result = try recorder.finish()
        print("[egress] opus result: \(result)")
        #expect(result.framesWritten == [TestMedia.opus.count])
        try Self.judge(result.filename, video: nil, audio: "opus", duration: TestMedia.seconds, label: "opus ogg")
    }

    // MARK: Audio with video

    @Test func vp8AndOpusToWebM() throws {
        let directory = TestMedia.outputDirectory("av-webm")
        let recorder = try FileRecorder(path: directory + "/room.webm", tracks: [Self.vp8Track, Self.opusTrack])
        Self.feed(recorder, PacketSchedule.merged(Self.vp8Packets(track: 0), Self.opusPackets(track: 1)))
        let result = try recorder.finish()
        #expect(result.framesWritten == [TestMedia.vp8.count, TestMedia.opus.count])
        let (probe, _) = try Self.judge(result.filename, video: ("vp8", 320, 240), audio: "opus", duration: TestMedia.seconds, label: "vp8+opus webm")
        #expect(probe.streams.count == 2)
    }

    @Test func h264AndOpusToMP4() throws {
        let directory = TestMedia.outputDirectory("av-mp4")
        let recorder = try FileRecorder(path: directory + "/room.mp4", tracks: [Self.h264Track, Self.opusTrack])
        Self.feed(recorder, PacketSchedule.merged(Self.h264Packets(track: 0), Self.opusPackets(track: 1)))
        let result = try recorder.finish()
        #expect(result.framesWritten == [TestMedia.h264.count, TestMedia.opus.count])
        try Self.judge(result.filename, video: ("h264", 320, 240), audio: "opus", duration: TestMedia.seconds, label: "h264+opus mp4")
    }

    /// Video whose first packet arrives 0.5 s after the audio's starts 0.5 s into the file; with
    /// sender reports saying it was captured 0.2 s after the audio, it starts at 0.2 s instead.
    @Test(arguments: [false, true]) func audioAndVideoAreAligned(bySenderReports: Bool) throws {
        let directory = TestMedia.outputDirectory("align")
        let recorder = try FileRecorder(path: directory + "/room.webm", tracks: [Self.vp8Track, Self.opusTrack])
        if bySenderReports {
            let ntp: UInt64 = 3_900_000_000 << 32
            recorder.receiveSenderReport(track: 1, ntp: ntp, rtpTimestamp: TestMedia.audioTimestampBase)
            recorder.receiveSenderReport(track: 0, ntp: ntp + (1 << 32) / 5, rtpTimestamp: TestMedia.videoTimestampBase)
        }
        Self.feed(recorder, PacketSchedule.merged(Self.vp8Packets(track: 0, start: 1_500_000_000), Self.opusPackets(track: 1)))
        let result = try recorder.finish()
        let expectedVideoStart = bySenderReports ? 0.2 : 0.5
        let (probe, _) = try Self.judge(result.filename, video: ("vp8", 320, 240), audio: "opus",
                                        duration: TestMedia.seconds + expectedVideoStart, label: "aligned (SR: \(bySenderReports)) webm")
        let videoStart = Double(probe.video?.start_time ?? "") ?? -1
        let audioStart = Double(probe.audio?.start_time ?? "") ?? -1
        print("[egress] aligned (SR: \(bySenderReports)): video start \(videoStart) s, audio start \(audioStart) s")
        #expect(abs(audioStart) < 0.01)
        #expect(abs(videoStart - expectedVideoStart) < 0.02)
    }

    // MARK: Crash safety

    /// What a SIGKILL leaves: the file as the kernel has it while the recorder is still running
    /// (copied without `finish()`; avio flushes every packet, so nothing sits in user space).
    static func snapshotWhileRecording(_ recorder: FileRecorder, packets: [TimedPacket], fraction: Double, to copy: String) throws {
        let half = Int(Double(packets.count) * fraction)
        feed(recorder, Array(packets[..<half]))
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: recorder.path, toPath: copy)
    }

    @Test func killedFragmentedMP4StillPlays() throws {
        let directory = TestMedia.outputDirectory("kill-mp4")
        let recorder = try FileRecorder(path: directory + "/room.mp4", tracks: [Self.h264Track, Self.opusTrack])
        let packets = PacketSchedule.merged(Self.h264Packets(track: 0), Self.opusPackets(track: 1))
        let copy = directory + "/killed.mp4"
        try Self.snapshotWhileRecording(recorder, packets: packets, fraction: 0.6, to: copy)
        // Fragments close every second, so at least the first second is on disk.
        let (_, seconds) = try Self.judge(copy, video: ("h264", 320, 240), audio: "opus", duration: 1.5, tolerance: 0.6, label: "killed mp4")
        #expect(seconds >= 0.9)
    }

    @Test func killedWebMStillPlays() throws {
        let directory = TestMedia.outputDirectory("kill-webm")
        let recorder = try FileRecorder(path: directory + "/room.webm", tracks: [Self.vp8Track, Self.opusTrack])
        let packets = PacketSchedule.merged(Self.vp8Packets(track: 0), Self.opusPackets(track: 1))
        let copy = directory + "/killed.webm"
        try Self.snapshotWhileRecording(recorder, packets: packets, fraction: 0.6, to: copy)
        let (_, seconds) = try Self.judge(copy, video: ("vp8", 320, 240), audio: "opus", duration: 1.5, tolerance: 0.6, label: "killed webm")
        #expect(seconds >= 0.9)
    }

    // MARK: Errors

    @Test func unwritableDirectoryIsATypedError() throws {
        let directory = TestMedia.outputDirectory("unwritable")
        // A regular file where a directory should be: not writable even for root.
        #expect(FileManager.default.createFile(atPath: directory + "/file", contents: Data([1])))
        #expect {
            _ = try FileRecorder(path: directory + "/file/sub/out.webm", tracks: [Self.vp8Track])
        } throws: { error in
            guard case .unwritableDirectory = error as? RecordingError else { return false }
            return true
        }
    }

    @Test func diskFullIsReportedNotFatal() throws {
        // /dev/full accepts open() and fails every write with ENOSPC.
        let recorder = try FileRecorder(path: "/dev/full", container: .webm, tracks: [Self.vp8Track, Self.opusTrack])
        var reported: [RecordingError] = []
        recorder.onFailure = { reported.append($0) }
        Self.feed(recorder, PacketSchedule.merged(Self.vp8Packets(track: 0), Self.opusPackets(track: 1)))
        #expect(reported == [.diskFull(path: "/dev/full")])
        #expect(recorder.failure == .diskFull(path: "/dev/full"))
        #expect(throws: RecordingError.diskFull(path: "/dev/full")) { _ = try recorder.finish() }
    }

    @Test func codecsAndContainersAreChecked() throws {
        #expect(throws: RecordingError.unsupportedCodec("VP9")) {
            _ = try RecordingTrack(kind: .video, codecName: "VP9", clockRate: 90000, payloadType: 98)
        }
        let directory = TestMedia.outputDirectory("codec-check")
        // VP8 goes into MP4 transcoded (TranscodingTests); WebM cannot take H.264, as we do not encode VP8.
        #expect(throws: RecordingError.codecNotAllowedInContainer(codec: .h264, container: .webm)) {
            _ = try FileRecorder(path: directory + "/x.webm", tracks: [Self.h264Track])
        }
        #expect(throws: RecordingError.codecNotAllowedInContainer(codec: .vp8, container: .mp3)) {
            _ = try FileRecorder(path: directory + "/x.mp3", tracks: [Self.vp8Track, Self.opusTrack])
        }
        #expect(throws: RecordingError.codecNotAllowedInContainer(codec: .h264, container: .ogg)) {
            _ = try FileRecorder(path: directory + "/x.ogg", tracks: [Self.h264Track])
        }
        #expect(throws: RecordingError.noTracks) { _ = try FileRecorder(path: directory + "/x.ogg", tracks: []) }
        let track = try RecordingTrack(kind: .audio, codecName: "OPUS", clockRate: 48000, payloadType: 111)
        #expect(track.codec == .opus)
    }

    @Test func garbageRTPNeverTraps() throws {
        let directory = TestMedia.outputDirectory("garbage")
        let recorder = try FileRecorder(path: directory + "/room.mkv", tracks: [Self.vp8Track, Self.h264Track, Self.opusTrack])
        var generator = SplitMix64(seed: 42)
        var arrival: UInt64 = 1_000_000_000
        // Noise, truncated headers, and valid headers with each payload type over random payloads.
        for round in 0..<30_000 {
            arrival += 1_000_000
            var bytes: [UInt8]
            switch round % 3 {
            case 0:
                bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            default:
                let payload = (0..<Int.random(in: 0...60, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let pt: UInt8 = [96, 102, 111][Int.random(in: 0..<3, using: &generator)]
                bytes = try RTPPacketBuilder(marker: Bool.random(using: &generator), payloadType: pt,
                                             sequenceNumber: UInt16.random(in: 0...30, using: &generator),
                                             timestamp: UInt32.random(in: 0...5, using: &generator) * 3000,
                                             ssrc: 1, payload: payload).bytes()
            }
            bytes.withUnsafeBytes { recorder.receiveRTP($0, track: Int.random(in: -1...3, using: &generator), arrivalNanoseconds: arrival) }
        }
        // Whatever survived, finishing must not trap; a failure must be a typed error.
        do {
            let result = try recorder.finish()
            print("[egress] garbage result: \(result)")
        } catch {
            print("[egress] garbage finish error: \(error)")
        }
    }
}

/// Reads the fixed header fields the tests need from a packet they built.
struct RTPTestView {
    let timestamp: UInt32
    init(_ bytes: [UInt8]) {
        timestamp = UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7])
    }
}
