import Foundation
import Testing
@testable import Egress

/// A room composite streamed over RTMP (libavformat's FLV muxer on its rtmp:// protocol) to an
/// ffmpeg listener, beside the file, from the same encode; an unreachable URL fails that stream
/// only; and stream keys are redacted as LiveKit's egress redacts them.
@Suite(.serialized) struct CompositeStreamTests {
    @Test func streamKeysAreRedactedAsLiveKitDoes() {
        #expect(StreamURL.redacted("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl") == "rtmp://a.rtmp.youtube.com/live2/{abc...jkl}")
        #expect(StreamURL.redacted("rtmps://host:443/app/sub/key123") == "rtmps://host:443/app/sub/{ke...23}")
        #expect(StreamURL.redacted("rtmp://host/live/abcd live=1") == "rtmp://host/live/{a...d} live=1")
        #expect(StreamURL.redacted("rtmp://host/live/ab") == "rtmp://host/live/{...}")
        // Not host/app/key: shown as given, as LiveKit does.
        #expect(StreamURL.redacted("rtmp://host/key") == "rtmp://host/key")
        #expect(StreamURL.redacted("srt://host:9000?streamid=x") == "srt://host:9000?streamid=x")
    }

    /// A free TCP port on 127.0.0.1 (bound then released).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `ffmpeg -listen 1` receiving RTMP into `out`, started and listening before this returns.
    static func receiver(port: Int, out: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffmpeg", "-hide_banner", "-v", "error", "-y", "-listen", "1", "-timeout", "20",
                             "-i", "rtmp://127.0.0.1:\(port)/live/secretkey", "-c", "copy", out]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 {
            let listening = try ExternalTool.run("ss", ["-ltnH", "sport = :\(port)"]).stdout
            if listening.contains(":\(port)") { return process }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.terminate()
        throw ExternalTool.ToolError(message: "ffmpeg did not listen on \(port)")
    }

    @Test func fileAndRTMPFromOneEncodeAndAnUnreachableStreamFailsAlone() throws {
        let directory = TestMedia.outputDirectory("composite-stream")
        let path = directory + "/room.mp4", flv = directory + "/received.flv"
        let port = Self.freePort(), deadPort = Self.freePort()
        let receiver = try Self.receiver(port: port, out: flv)
        defer { if receiver.isRunning { receiver.terminate() } }
        let good = "rtmp://127.0.0.1:\(port)/live/secretkey", dead = "rtmp://127.0.0.1:\(deadPort)/live/otherkey"
        let recorder = try CompositeRecorder(path: path, streamURLs: [good, dead], options: CompositeRecorderTests.options())
        recorder.addTrack(0, CompositeRecorderTests.vp8Track, participant: "alice", isScreenShare: false)
        recorder.addTrack(1, CompositeRecorderTests.opusTrack, participant: "alice", isScreenShare: false)
        CompositeRecorderTests.feed(recorder, PacketSchedule.merged(CompositeRecorderTests.packets(track: 0, red: true),
                                                                    CompositeRecorderTests.tone(track: 1)))
        let result = try recorder.finish()
        // The listener ends when the publisher closes the connection.
        for _ in 0..<200 where receiver.isRunning { Thread.sleep(forTimeInterval: 0.05) }
        print("[composite stream] \(result.streams)")
        #expect(result.streams.count == 2)
        #expect(result.streams.first?.url == good && result.streams.first?.failure == nil)
        #expect(result.streams.first?.startedAtNanoseconds != nil && result.streams.first?.endedAtNanoseconds != nil)
        #expect(result.streams.last?.url == dead && result.streams.last?.startedAtNanoseconds == nil)
        let reason = result.streams.last?.failure.map { "\($0)" } ?? ""
        #expect(reason.contains("cannot connect") && !reason.contains("otherkey"), "\(reason)")
        _ = try RecordingTests.judge(path, video: ("h264", 640, 360), audio: "aac", duration: TestMedia.seconds,
                                     label: "composite file beside the stream")
        _ = try RecordingTests.judge(flv, video: ("h264", 640, 360), audio: "aac", duration: TestMedia.seconds,
                                     label: "composite over RTMP")
    }

    @Test func streamOnlyWithNothingReachableFailsAtStart() {
        let dead = "rtmp://127.0.0.1:\(Self.freePort())/live/k"
        #expect(throws: RecordingError.self) {
            _ = try CompositeRecorder(path: nil, streamURLs: [dead], options: CompositeRecorderTests.options())
        }
    }
}
