import LiveKitProto
import Testing
@testable import Signal

@Suite struct TrackPublicationsTests {
    func request(_ cid: String, _ type: Livekit_TrackType, source: Livekit_TrackSource, layers: Int = 0) -> Livekit_AddTrackRequest {
        Livekit_AddTrackRequest.with {
            $0.cid = cid
            $0.type = type
            $0.source = source
            $0.name = cid
            $0.width = 1280
            $0.height = 720
            $0.layers = (0..<layers).map { i in Livekit_VideoLayer.with { $0.quality = Livekit_VideoQuality(rawValue: i) ?? .low } }
            $0.simulcastCodecs = [Livekit_SimulcastCodec.with { $0.codec = "vp8"; $0.cid = cid }]
        }
    }

    var allowAll: Livekit_ParticipantPermission { .with { $0.canPublish = true } }

    @Test func addAssignsSidAndEchoesFields() throws {
        var book = TrackPublications()
        let track = try book.add(request("cam", .video, source: .camera, layers: 3), permission: allowAll).get()
        #expect(track.sid.hasPrefix("TR_") && track.source == .camera && track.simulcast && track.layers.count == 3)
        #expect(track.codecs.first?.mimeType == "video/VP8")
        // Re-sent request with the same cid gets the same track.
        let again = try book.add(request("cam", .video, source: .camera), permission: allowAll).get()
        #expect(again.sid == track.sid)
    }

    @Test func grantsAreEnforced() {
        var book = TrackPublications()
        let viewer = Livekit_ParticipantPermission.with { $0.canPublish = false }
        #expect(throws: TrackPublications.Refusal.self) { try book.add(request("a", .audio, source: .microphone), permission: viewer).get() }
        let cameraOnly = Livekit_ParticipantPermission.with { $0.canPublish = true; $0.canPublishSources = [.camera] }
        #expect(throws: TrackPublications.Refusal.self) {
            try book.add(request("s", .video, source: .screenShare), permission: cameraOnly).get()
        }
        let allowed = try? book.add(request("c", .video, source: .camera), permission: cameraOnly).get()
        #expect(allowed != nil)
        #expect(throws: TrackPublications.Refusal.self) { try book.add(request("", .video, source: .camera), permission: allowAll).get() }
    }

    @Test func publishMatchesByCidThenByKind() throws {
        var book = TrackPublications()
        let cam = try book.add(request("cam", .video, source: .camera), permission: allowAll).get()
        let screen = try book.add(request("screen", .video, source: .screenShare), permission: allowAll).get()
        let mic = try book.add(request("mic", .audio, source: .microphone), permission: allowAll).get()
        let first = book.publish(msidTrackID: "screen", type: .video, mid: "1", mimeType: "video/VP8")
        #expect(first?.sid == screen.sid)
        // Unknown msid: the first pending track of the same kind.
        let second = book.publish(msidTrackID: "browser-made-id", type: .video, mid: "0", mimeType: "video/VP8")
        #expect(second?.sid == cam.sid)
        let none = book.publish(msidTrackID: "x", type: .video, mid: "3", mimeType: "video/VP8")
        #expect(none == nil)
        let maybe = book.publish(msidTrackID: "mic", type: .audio, mid: "2", mimeType: "audio/opus")
        let published = try #require(maybe)
        #expect(published.sid == mic.sid && published.mid == "2" && published.mimeType == "audio/opus")
        #expect(book.pending.isEmpty && book.published.count == 3)
        let muted = book.setMuted(sid: mic.sid, true)
        #expect(muted?.muted == true)
        let removed = book.unpublish(sid: mic.sid)
        #expect(removed != nil && book.published.count == 2)
    }
}
