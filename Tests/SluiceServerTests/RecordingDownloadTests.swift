import Testing
@testable import SluiceServer

/// The recording download's two decisions made without a server: which byte range a `Range`
/// header asks for, and which EgressInfo locations are files it may serve. The download itself
/// (bytes, ffprobe, tokens) is Interop/test_stats_dashboard.py's.
@Suite struct RecordingDownloadTests {
    @Test func rangesAsBrowsersSendThem() {
        #expect(ByteRange.parse(nil, size: 1000) == .whole)
        #expect(ByteRange.parse("bytes=0-", size: 1000) == .part(0...999))
        #expect(ByteRange.parse("bytes=100-199", size: 1000) == .part(100...199))
        #expect(ByteRange.parse("bytes=900-5000", size: 1000) == .part(900...999))  // clamped to the end
        #expect(ByteRange.parse("bytes=-100", size: 1000) == .part(900...999))
        #expect(ByteRange.parse("bytes=-5000", size: 1000) == .part(0...999))
    }

    @Test func unsatisfiableAndUnparsedRanges() {
        #expect(ByteRange.parse("bytes=1000-", size: 1000) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=-0", size: 1000) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=0-", size: 0) == .unsatisfiable)
        // Not understood, or several ranges: the whole file, which RFC 9110 allows instead.
        #expect(ByteRange.parse("bytes=5-1", size: 1000) == .whole)
        #expect(ByteRange.parse("bytes=0-1,5-6", size: 1000) == .whole)
        #expect(ByteRange.parse("items=0-1", size: 1000) == .whole)
        #expect(ByteRange.parse("bytes=a-b", size: 1000) == .whole)
    }

    @Test func onlyFilesInsideTheRecordingsDirectoryAreServed() {
        let root = "/var/lib/sluice/recordings"
        #expect(RecordingDownload.localFile(of: "/var/lib/sluice/recordings/room/a.mp4", recordingsPath: root)
            == "/var/lib/sluice/recordings/room/a.mp4")
        #expect(RecordingDownload.localFile(of: "/var/lib/sluice/recordings/../sluice.sqlite", recordingsPath: root) == nil)
        #expect(RecordingDownload.localFile(of: "/var/lib/sluice/recordings-other/a.mp4", recordingsPath: root) == nil)
        #expect(RecordingDownload.localFile(of: "/etc/passwd", recordingsPath: root) == nil)
        // Uploaded recordings: the location is a URL.
        #expect(RecordingDownload.localFile(of: "https://bucket.example/a.mp4", recordingsPath: root) == nil)
        #expect(RecordingDownload.contentType(of: "/r/a.webm") == "video/webm")
        #expect(RecordingDownload.contentType(of: "/r/a.MP4") == "video/mp4")
        #expect(RecordingDownload.contentType(of: "/r/a.ogg") == "audio/ogg")
    }
}
