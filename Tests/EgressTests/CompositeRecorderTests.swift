import Foundation
import Media
import Testing
@testable import Egress

/// The compositor end to end: solid-colour VP8 and H.264 streams (made by the ffmpeg CLI) and an
/// Opus tone -> RTP -> CompositeRecorder -> a file judged by ffprobe, a full decode, and the
/// colours of the tiles in frames read back as RGB.
@Suite(.serialized) struct CompositeRecorderTests {
    static let vp8Track = RecordingTrack(kind: .video, codec: .vp8, clockRate: 90000, payloadType: 96)
    static let h264Track = RecordingTrack(kind: .video, codec: .h264, clockRate: 90000, payloadType: 102)
    static let opusTrack = RecordingTrack(kind: .audio, codec: .opus, clockRate: 48000, payloadType: 111, channels: 2)
    static let frameInterval: UInt64 = 33_333_333

    /// A solid red VP8 stream, 320x240 (4:3), 30 fps.
    static let redVP8: [SourceFrame] = {
        let file = TestMedia.directory + "/red.ivf"
        try! ExternalTool.ffmpeg(["-f", "lavfi", "-i", "color=c=0xDC2828:size=320x240:rate=30", "-t", "\(TestMedia.seconds)",
                                  "-c:v", "libvpx", "-b:v", "300k", "-g", "30", "-auto-alt-ref", "0", file])
        return IVFReader.frames(try! [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))).enumerated().map {
            SourceFrame(data: $0.element, timestamp: 1000 &+ UInt32($0.offset * 3000))
        }
    }()

    /// A solid blue H.264 stream, 320x180 (16:9), 30 fps, as Annex-B access units.
    static let blueH264: [[[UInt8]]] = {
        let file = TestMedia.directory + "/blue.h264"
        try! ExternalTool.ffmpeg(["-f", "lavfi", "-i", "color=c=0x2828DC:size=320x180:rate=30", "-t", "\(TestMedia.seconds)",
                                  "-c:v", "libx264", "-profile:v", "baseline", "-g", "30", "-pix_fmt", "yuv420p",
                                  "-bsf:v", "h264_mp4toannexb", "-f", "h264", file])
        return AnnexBReader.accessUnits(try! [UInt8](Data(contentsOf: URL(fileURLWithPath: file))))
    }()

    static func packets(track: Int, red: Bool) -> [TimedPacket] {
        if red {
            var packetizer = TestPacketizer(payloadType: 96)
            return PacketSchedule.timed(redVP8.map { packetizer.vp8($0) }, track: track, frameInterval: frameInterval)
        }
        var packetizer = TestPacketizer(payloadType: 102, ssrc: 0x77, firstSequence: 10)
        let units = blueH264.enumerated().map { index, unit in packetizer.h264(unit, timestamp: 0xFFFF_0000 &+ UInt32(index * 3000)) }
        return PacketSchedule.timed(units, track: track, frameInterval: frameInterval)
    }

    static func tone(track: Int) -> [TimedPacket] {
        var packetizer = TestPacketizer(payloadType: 111, ssrc: 0x5566, firstSequence: 100)
        return PacketSchedule.timed(TestMedia.opus.map { packetizer.opus($0) }, track: track, frameInterval: 20_000_000)
    }

    /// Feeds packets in arrival order, ticking as the writer thread would (every 10 ms), and
    /// runs `at` before the first packet at or after each of its times.
    static func feed(_ recorder: CompositeRecorder, _ packets: [TimedPacket], at events: [(UInt64, () -> Void)] = [],
                     backlog: UInt64 = 0) {
        var pending = events.sorted { $0.0 < $1.0 }
        var nextTick: UInt64 = 0
        for packet in packets {
            while let event = pending.first, event.0 <= packet.arrival {
                event.1()
                pending.removeFirst()
            }
            packet.bytes.withUnsafeBytes { recorder.receiveRTP($0, track: packet.track, arrivalNanoseconds: packet.arrival) }
            if packet.arrival >= nextTick {
                recorder.tick(now: packet.arrival, backlog: backlog)
                nextTick = packet.arrival + 10_000_000
            }
        }
    }

    /// The frame shown at `seconds`, as RGB rows.
    static func frame(_ path: String, at seconds: Double, width: Int, height: Int) throws -> [UInt8] {
        let out = path + "-\(seconds).rgb"
        try ExternalTool.ffmpeg(["-ss", "\(seconds)", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", out])
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out)))
        #expect(bytes.count == width * height * 3)
        return bytes
    }

    /// Mean colour of a 20x20 square centred at (x, y).
    static func colour(_ rgb: [UInt8], width: Int, x: Int, y: Int) -> (r: Int, g: Int, b: Int) {
        var sum = (0, 0, 0), count = 0
        for row in (y - 10)..<(y + 10) {
            for column in (x - 10)..<(x + 10) {
                let offset = (row * width + column) * 3
                guard offset + 2 < rgb.count, offset >= 0 else { continue }
                sum.0 += Int(rgb[offset]); sum.1 += Int(rgb[offset + 1]); sum.2 += Int(rgb[offset + 2])
                count += 1
            }
        }
        return count == 0 ? (0, 0, 0) : (sum.0 / count, sum.1 / count, sum.2 / count)
    }

    static func isClose(_ c: (r: Int, g: Int, b: Int), _ r: Int, _ g: Int, _ b: Int, within: Int = 30) -> Bool {
        abs(c.r - r) <= within && abs(c.g - g) <= within && abs(c.b - b) <= within
    }

    static func options(_ layout: CompositeLayout = CompositeLayout(.grid)) -> CompositeOptions {
        var options = CompositeOptions()
        (options.width, options.height, options.framerate) = (640, 360, 30)
        options.videoBitrate = 1_000_000
        options.layout = layout
        return options
    }

    /// A writer running behind (a busy machine) sheds frames instead of drawing and encoding each
    /// one late: the file keeps its length and its audio, and shows fewer pictures, not later ones.
    @Test func aWriterBehindSkipsFramesButKeepsTheDuration() throws {
        var results: [RecordingResult] = []
        for backlog: UInt64 in [0, 2_000_000_000] {
            let path = TestMedia.outputDirectory("composite-backlog-\(backlog)") + "/room.mp4"
            let recorder = try CompositeRecorder(path: path, options: Self.options())
            recorder.addTrack(0, Self.vp8Track, participant: "alice", isScreenShare: false)
            recorder.addTrack(1, Self.opusTrack, participant: "alice", isScreenShare: false)
            Self.feed(recorder, PacketSchedule.merged(Self.packets(track: 0, red: true), Self.tone(track: 1)), backlog: backlog)
            let result = try recorder.finish()
            print("[composite] backlog \(backlog / 1_000_000) ms: frames \(result.framesWritten), skipped \(result.videoFramesSkipped), "
                  + "\(Double(result.durationNanoseconds) / 1e9) s")
            try RecordingTests.judge(path, video: ("h264", 640, 360), audio: "aac", duration: TestMedia.seconds,
                                     label: "composite behind by \(backlog / 1_000_000) ms")
            results.append(result)
        }
        let (onTime, behind) = (results[0], results[1])
        #expect(onTime.videoFramesSkipped == 0)
        // Two of every three frames go at 2 s behind.
        let drawn = behind.framesWritten[0], all = drawn + behind.videoFramesSkipped
        #expect(all == onTime.framesWritten[0], "the same frame times pass: \(all) vs \(onTime.framesWritten[0])")
        #expect(abs(drawn * 3 - all) <= 3, "a third drawn: \(drawn) of \(all)")
        #expect(behind.framesWritten[1] == onTime.framesWritten[1], "audio untouched")
        #expect(abs(behind.durationNanoseconds - onTime.durationNanoseconds) < 100_000_000)
    }

    @Test func twoColoursSideBySideInAGridWithMixedAudio() throws {
        let path = TestMedia.outputDirectory("composite-grid") + "/room.mp4"
        let recorder = try CompositeRecorder(path: path, options: Self.options())
        recorder.addTrack(0, Self.vp8Track, participant: "alice", isScreenShare: false)
        recorder.addTrack(1, Self.h264Track, participant: "bob", isScreenShare: false)
        recorder.addTrack(2, Self.opusTrack, participant: "alice", isScreenShare: false)
        Self.feed(recorder, PacketSchedule.merged(Self.packets(track: 0, red: true), Self.packets(track: 1, red: false),
                                                  Self.tone(track: 2)))
        #expect(recorder.hasWrittenFrames)
        let result = try recorder.finish()
        print("[composite] grid: \(result.sizeBytes) B, \(Double(result.durationNanoseconds) / 1e9) s, frames \(result.framesWritten)")
        try RecordingTests.judge(path, video: ("h264", 640, 360), audio: "aac", duration: TestMedia.seconds, label: "composite grid")

        let rgb = try Self.frame(path, at: 1.5, width: 640, height: 360)
        // Grid of two: cells 320x360. Red 4:3 fits as 320x240 at y 60; blue 16:9 as 320x180 at y 90.
        let left = Self.colour(rgb, width: 640, x: 160, y: 180), right = Self.colour(rgb, width: 640, x: 480, y: 180)
        let leftBar = Self.colour(rgb, width: 640, x: 160, y: 20), rightBar = Self.colour(rgb, width: 640, x: 480, y: 60)
        print("[composite] grid colours: left \(left) right \(right) bars \(leftBar) \(rightBar)")
        #expect(Self.isClose(left, 0xDC, 0x28, 0x28), "left tile is red: \(left)")
        #expect(Self.isClose(right, 0x28, 0x28, 0xDC), "right tile is blue: \(right)")
        #expect(Self.isClose(leftBar, 0, 0, 0, within: 20) && Self.isClose(rightBar, 0, 0, 0, within: 20), "bars are the dark background")
        #expect(recorder.activeSpeaker == "alice", "the only voice speaks")
    }

    @Test func tracksComeAndGoAndTheLayoutChanges() throws {
        let path = TestMedia.outputDirectory("composite-changes") + "/room.mp4"
        let recorder = try CompositeRecorder(path: path, options: Self.options(CompositeLayout(.grid, theme: .light)))
        recorder.addTrack(0, Self.vp8Track, participant: "alice", isScreenShare: false)
        recorder.addTrack(5, Self.opusTrack, participant: "alice", isScreenShare: false)
        let start: UInt64 = 1_000_000_000
        // Bob arrives at 1 s (with a keyframe), leaves at 2 s; single speaker from 2.5 s.
        let bob = Self.packets(track: 1, red: false).filter { $0.arrival >= start + 990_000_000 && $0.arrival < start + 2_000_000_000 }
        Self.feed(recorder, PacketSchedule.merged(Self.packets(track: 0, red: true), bob, Self.tone(track: 5)), at: [
            (start + 990_000_000, { recorder.addTrack(1, Self.h264Track, participant: "bob", isScreenShare: false) }),
            (start + 2_000_000_000, { recorder.removeTrack(1) }),
            (start + 2_500_000_000, { recorder.setLayout(CompositeLayout(.singleSpeaker)) }),
        ])
        let result = try recorder.finish()
        print("[composite] changes: \(result.sizeBytes) B, \(Double(result.durationNanoseconds) / 1e9) s, frames \(result.framesWritten)")
        try RecordingTests.judge(path, video: ("h264", 640, 360), audio: "aac", duration: TestMedia.seconds, label: "composite changes")

        // Alone, light: red 4:3 fills the height (480x360 at x 80), light grey bars either side.
        let alone = try Self.frame(path, at: 0.5, width: 640, height: 360)
        print("[composite] alone: centre \(Self.colour(alone, width: 640, x: 320, y: 180)) bar \(Self.colour(alone, width: 640, x: 30, y: 180))")
        #expect(Self.isClose(Self.colour(alone, width: 640, x: 320, y: 180), 0xDC, 0x28, 0x28))
        #expect(Self.isClose(Self.colour(alone, width: 640, x: 30, y: 180), 0xEB, 0xEB, 0xEB, within: 20))
        // With bob (his first keyframe needs a moment): two tiles.
        let both = try Self.frame(path, at: 1.7, width: 640, height: 360)
        print("[composite] both: left \(Self.colour(both, width: 640, x: 160, y: 180)) right \(Self.colour(both, width: 640, x: 480, y: 180))")
        #expect(Self.isClose(Self.colour(both, width: 640, x: 160, y: 180), 0xDC, 0x28, 0x28))
        #expect(Self.isClose(Self.colour(both, width: 640, x: 480, y: 180), 0x28, 0x28, 0xDC))
        // Bob gone, single speaker: alice alone again.
        let after = try Self.frame(path, at: 2.8, width: 640, height: 360)
        #expect(Self.isClose(Self.colour(after, width: 640, x: 480, y: 180), 0xDC, 0x28, 0x28))
    }

    @Test(arguments: [(RecordingContainer.ogg, CompositeOptions.AudioCodec.opus, "opus"), (.mp3, .mp3, "mp3")])
    func audioOnly(container: RecordingContainer, codec: CompositeOptions.AudioCodec, codecName: String) throws {
        let path = TestMedia.outputDirectory("composite-\(codecName)") + "/room." + container.fileExtension
        var options = Self.options()
        options.includesVideo = false
        options.container = container
        options.audioCodec = codec
        let recorder = try CompositeRecorder(path: path, options: options)
        recorder.addTrack(0, Self.vp8Track, participant: "alice", isScreenShare: false)  // left out
        recorder.addTrack(1, Self.opusTrack, participant: "alice", isScreenShare: false)
        recorder.addTrack(2, Self.opusTrack, participant: "bob", isScreenShare: false)
        var second = Self.tone(track: 2)
        for index in second.indices { second[index].arrival += 7_000_000 }
        Self.feed(recorder, PacketSchedule.merged(Self.packets(track: 0, red: true), Self.tone(track: 1), second))
        #expect(recorder.trackCount == 2)
        _ = try recorder.finish()
        try RecordingTests.judge(path, video: nil, audio: codecName, duration: TestMedia.seconds, label: "composite \(codecName)")
    }
}
