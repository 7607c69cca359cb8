import Foundation
import Testing
@testable import Egress

/// When the file header is written relative to the tracks' first frames. An MP4 (or WebM) file
/// declares its streams in the header, so a video stream left out there can never be added: a
/// recording whose video keyframe arrives late must wait for it, or lose its video for good.
/// On a busy server the publisher's answer to the keyframe request can take seconds, while audio
/// flows from the first packet.
@Suite(.serialized) struct HeaderWaitTests {
    typealias R = RecordingTests

    /// Packets of a video track that sends only delta frames (a publisher whose keyframe has not
    /// come yet) for `deltaSeconds`, then the source's frames 30..<90 (keyframes at 30 and 60), at
    /// 30 fps from `start`; and the packets of `audioSeconds` of Opus at 20 ms from `start`.
    static func lateKeyframeSchedule(codec: RecordingCodec, deltaSeconds: Int, audioSeconds: Int,
                                     start: UInt64) -> (packets: [TimedPacket], keyframeArrival: UInt64) {
        let deltaCount = deltaSeconds * 30
        var framePackets: [[[UInt8]]] = []
        switch codec {
        case .vp8:
            var packetizer = TestPacketizer(payloadType: 96)
            let deltas = TestMedia.vp8.indices.filter { $0 % 30 != 0 }
            for n in 0..<deltaCount {
                var frame = TestMedia.vp8[deltas[n % deltas.count]]
                frame.timestamp = TestMedia.videoTimestampBase &+ UInt32(n * 3000)
                framePackets.append(packetizer.vp8(frame))
            }
            for (n, index) in (30..<90).enumerated() {
                var frame = TestMedia.vp8[index]
                frame.timestamp = TestMedia.videoTimestampBase &+ UInt32((deltaCount + n) * 3000)
                framePackets.append(packetizer.vp8(frame))
            }
        case .h264:
            var packetizer = TestPacketizer(payloadType: 102)
            let deltas = TestMedia.h264.indices.filter { $0 % 30 != 0 }
            for n in 0..<deltaCount {
                framePackets.append(packetizer.h264(TestMedia.h264[deltas[n % deltas.count]],
                                                    timestamp: TestMedia.videoTimestampBase &+ UInt32(n * 3000)))
            }
            for (n, index) in (30..<90).enumerated() {
                framePackets.append(packetizer.h264(TestMedia.h264[index],
                                                    timestamp: TestMedia.videoTimestampBase &+ UInt32((deltaCount + n) * 3000)))
            }
        case .opus:
            fatalError("video codecs only")
        }
        let video = PacketSchedule.timed(framePackets, track: 0, frameInterval: R.frameInterval, start: start)
        var audioPacketizer = TestPacketizer(payloadType: 111, ssrc: 0x5566, firstSequence: 100)
        var audioFrames: [[UInt8]] = []
        for n in 0..<(audioSeconds * 50) {
            let frame = SourceFrame(data: TestMedia.opus[n % TestMedia.opus.count].data,
                                    timestamp: TestMedia.audioTimestampBase &+ UInt32(n * 960))
            audioFrames.append(contentsOf: audioPacketizer.opus(frame))
        }
        let audio = PacketSchedule.timed(audioFrames.map { [$0] }, track: 1, frameInterval: 20_000_000, start: start)
        let keyframeArrival = start + UInt64(deltaCount) * R.frameInterval
        return (PacketSchedule.merged(video, audio), keyframeArrival)
    }

    /// Audio from the start, video packets from the start but its first keyframe only after
    /// 6 s (past the 5 s the header used to wait): the file still has both streams, and the
    /// recorder asked for a keyframe again and again, paced, while it waited.
    @Test(arguments: [RecordingCodec.vp8, .h264]) func lateVideoKeyframeStillGivesTheFileItsVideo(codec: RecordingCodec) throws {
        let directory = TestMedia.outputDirectory("late-keyframe-\(codec.rawValue)")
        let videoTrack = codec == .vp8 ? R.vp8Track : R.h264Track
        let recorder = try FileRecorder(path: directory + "/participant.mp4", tracks: [videoTrack, R.opusTrack])
        #expect(recorder.tracks[0].output == (codec == .vp8 ? .h264 : .copy))
        let start: UInt64 = 1_000_000_000
        let (packets, keyframeArrival) = Self.lateKeyframeSchedule(codec: codec, deltaSeconds: 6, audioSeconds: 9, start: start)
        var now: UInt64 = 0
        var requestTimes: [UInt64] = []
        recorder.onKeyframeNeeded = { track in
            if track == 0 { requestTimes.append(now) }
        }
        var header: (waited: UInt64, tracks: [Int])?
        recorder.onHeaderWritten = { header = ($0, $1) }
        var audioWrittenBeforeKeyframe = -1
        for packet in packets {
            if packet.arrival >= keyframeArrival, audioWrittenBeforeKeyframe < 0 {
                audioWrittenBeforeKeyframe = recorder.tracks[1].framesWritten
            }
            now = packet.arrival
            packet.bytes.withUnsafeBytes { recorder.receiveRTP($0, track: packet.track, arrivalNanoseconds: packet.arrival) }
        }
        let result = try recorder.finish()
        print("[egress] late \(codec.rawValue) keyframe: \(result.framesWritten) written, \(requestTimes.count) keyframe requests")
        #expect(audioWrittenBeforeKeyframe == 0, "the header waited for the video keyframe")
        #expect(header?.tracks == [0, 1])
        #expect(header.map { abs(Int64($0.waited) - Int64(keyframeArrival - start)) < 100_000_000 } == true,
                "waited \(header?.waited ?? 0) ns for the keyframe")
        #expect(result.framesWritten == [60, 9 * 50], "every frame from the keyframe on, and all the audio")
        let (probe, _) = try R.judge(result.filename, video: ("h264", 320, 240), audio: "opus", duration: 9.0,
                                     label: "late \(codec.rawValue) keyframe mp4")
        #expect(probe.streams.count == 2)
        // Requests while waiting: one at once, then one per interval, never faster.
        let waiting = requestTimes.filter { $0 < keyframeArrival }
        let gaps = zip(waiting, waiting.dropFirst()).map { $1 - $0 }
        #expect(waiting.first.map { $0 - start } ?? .max < 100_000_000, "asked at once")
        #expect(gaps.allSatisfy { $0 >= recorder.keyframeRequestIntervalNanoseconds }, "paced: \(gaps)")
        let expected = Int((keyframeArrival - start) / recorder.keyframeRequestIntervalNanoseconds)
        #expect(waiting.count >= expected, "asked again while no keyframe came: \(waiting.count) of \(expected)")
    }

    /// A writer thread running seconds behind its packets (a busy machine) ticks with a wall
    /// clock far past their arrival: that is not time the publisher had to send its keyframe,
    /// so the header keeps waiting for the video.
    @Test func aLateTickDoesNotCutTheKeyframeWaitShort() throws {
        let directory = TestMedia.outputDirectory("late-tick")
        let recorder = try FileRecorder(path: directory + "/participant.mp4", tracks: [R.vp8Track, R.opusTrack])
        let start: UInt64 = 1_000_000_000
        let (packets, keyframeArrival) = Self.lateKeyframeSchedule(codec: .vp8, deltaSeconds: 1, audioSeconds: 3, start: start)
        R.feed(recorder, packets.filter { $0.arrival < start + 500_000_000 })
        recorder.tick(now: start + 8_000_000_000)
        #expect(recorder.tracks[1].framesWritten == 0, "no header yet: the packets span half a second")
        R.feed(recorder, packets.filter { $0.arrival >= start + 500_000_000 })
        let result = try recorder.finish()
        #expect(keyframeArrival > start + 500_000_000)
        #expect(result.framesWritten == [60, 3 * 50])
        try R.judge(result.filename, video: ("h264", 320, 240), audio: "opus", duration: 3.0, label: "late tick mp4")
    }

    /// A video track that sends nothing at all (a camera muted before the recording started) does
    /// not hold the audio back beyond `maxHeaderWaitNanoseconds`.
    @Test func silentVideoTrackIsLeftOutAfterTheWait() throws {
        let directory = TestMedia.outputDirectory("silent-video")
        let recorder = try FileRecorder(path: directory + "/participant.mp4", tracks: [R.vp8Track, R.opusTrack])
        var header: (waited: UInt64, tracks: [Int])?
        recorder.onHeaderWritten = { header = ($0, $1) }
        let (packets, _) = Self.lateKeyframeSchedule(codec: .vp8, deltaSeconds: 0, audioSeconds: 7, start: 1_000_000_000)
        R.feed(recorder, packets.filter { $0.track == 1 })
        #expect(recorder.tracks[1].framesWritten > 0, "the header was written once the wait was over")
        #expect(header?.tracks == [1], "only the audio is in the file")
        #expect(header.map { $0.waited >= recorder.maxHeaderWaitNanoseconds && $0.waited < 5_100_000_000 } == true)
        let result = try recorder.finish()
        #expect(result.framesWritten == [0, 7 * 50])
        try R.judge(result.filename, video: nil, audio: "opus", duration: 7.0, label: "silent video mp4")
    }

    /// Video packets that never bring a keyframe hold the header only up to
    /// `maxKeyframeWaitNanoseconds`; then the audio is written without the video.
    @Test func keyframeWaitIsBounded() throws {
        let directory = TestMedia.outputDirectory("no-keyframe")
        let recorder = try FileRecorder(path: directory + "/participant.mp4", tracks: [R.vp8Track, R.opusTrack])
        recorder.maxKeyframeWaitNanoseconds = 3_000_000_000
        let (packets, keyframeArrival) = Self.lateKeyframeSchedule(codec: .vp8, deltaSeconds: 6, audioSeconds: 6,
                                                                   start: 1_000_000_000)
        R.feed(recorder, packets.filter { $0.arrival < keyframeArrival })
        #expect(recorder.tracks[1].framesWritten > 0, "the header was written once the longer wait was over")
        let result = try recorder.finish()
        #expect(result.framesWritten == [0, 6 * 50], "no audio lost while waiting")
        try R.judge(result.filename, video: nil, audio: "opus", duration: 6.0, label: "no keyframe mp4")
    }
}
