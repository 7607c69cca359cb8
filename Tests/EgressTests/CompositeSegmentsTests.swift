import Foundation
import Testing
@testable import Egress

/// A composite written as HLS (libavformat's `hls` muxer): MPEG-TS or fMP4 segments of the asked
/// duration, a playlist closed with ENDLIST, a live playlist of the newest segments; ffprobe and
/// ffmpeg read the playlist as one recording of the fed length.
@Suite(.serialized) struct CompositeSegmentsTests {
    @Test func playlistsAreReadAndWindowed() {
        let text = """
        #EXTM3U
        #EXT-X-VERSION:7
        #EXT-X-TARGETDURATION:2
        #EXT-X-MEDIA-SEQUENCE:0
        #EXT-X-PLAYLIST-TYPE:EVENT
        #EXT-X-MAP:URI="seg_init.mp4"
        #EXTINF:2.000000,
        seg_00000.m4s
        #EXTINF:2.000000,
        seg_00001.m4s
        #EXTINF:1.500000,
        seg_00002.m4s
        #EXT-X-ENDLIST
        """
        let playlist = HLSPlaylist(text: text)
        #expect(playlist.segments.map(\.uri) == ["seg_00000.m4s", "seg_00001.m4s", "seg_00002.m4s"])
        #expect(playlist.totalSeconds == 5.5 && playlist.ended && playlist.initSegment == "seg_init.mp4")
        let window = playlist.window(2)
        #expect(window.mediaSequence == 1 && window.segments.map(\.uri) == ["seg_00001.m4s", "seg_00002.m4s"])
        let reread = HLSPlaylist(text: window.text)
        #expect(reread == window)
    }

    @Test(arguments: [false, true]) func segmentsPlayAsOneRecording(fragmented: Bool) throws {
        let directory = TestMedia.outputDirectory("composite-hls")
        var settings = HLSSettings(playlistPath: directory + "/index.m3u8", segmentPattern: directory + "/seg_%05d"
                                   + (fragmented ? ".m4s" : ".ts"), segmentSeconds: 1, livePlaylistPath: directory + "/live.m3u8")
        settings.fragmentedMP4 = fragmented
        settings.initSegmentName = "seg_init.mp4"
        settings.liveWindow = 2
        var options = CompositeRecorderTests.options()
        options.keyframeIntervalSeconds = 1
        let recorder = try CompositeRecorder(path: nil, segments: settings, options: options)
        recorder.addTrack(0, CompositeRecorderTests.vp8Track, participant: "alice", isScreenShare: false)
        recorder.addTrack(1, CompositeRecorderTests.opusTrack, participant: "alice", isScreenShare: false)
        CompositeRecorderTests.feed(recorder, PacketSchedule.merged(CompositeRecorderTests.packets(track: 0, red: true),
                                                                    CompositeRecorderTests.tone(track: 1)))
        let result = try recorder.finish()
        let segments = try #require(result.segments)
        print("[composite hls] fragmented=\(fragmented) \(segments.segmentCount) segments, "
              + "\(Double(segments.durationNanoseconds) / 1e9) s, \(segments.sizeBytes) B: \(segments.segmentPaths.map { ($0 as NSString).lastPathComponent })")
        #expect(segments.segmentCount >= 2)
        #expect(abs(Double(segments.durationNanoseconds) / 1e9 - TestMedia.seconds) < 0.5)
        #expect(segments.segmentPaths.allSatisfy { FileManager.default.fileExists(atPath: $0) })
        if fragmented { #expect(segments.segmentPaths.first?.hasSuffix("seg_init.mp4") == true) }
        let live = try #require(HLSPlaylist(contentsOf: directory + "/live.m3u8"))
        let main = try #require(HLSPlaylist(contentsOf: directory + "/index.m3u8"))
        #expect(main.ended && live.ended && live.segments == Array(main.segments.suffix(2)))
        _ = try RecordingTests.judge(settings.playlistPath, video: ("h264", 640, 360), audio: "aac", duration: TestMedia.seconds,
                                     label: "composite HLS (\(fragmented ? "fMP4" : "TS"))")
    }
}
