import Egress
import Foundation
import LiveKitProto
import Logging
import SFU
import Signal
import Store
import Testing
@testable import SluiceServer

/// A media plane that records room composites as calls: the options each started with, and the
/// layouts and screen shares it was told about since.
final class FakeCompositeMedia: EgressMediaPlane, @unchecked Sendable {
    struct Started {
        var path: String
        var options: CompositeOptions
        var screenShares: Set<String>
        var onActive: @Sendable () -> Void
        var streamURLs: [String] = []
        var onStreamFailed: @Sendable (_ url: String, _ error: RecordingError) -> Void = { _, _ in }
    }

    private let lock = NSLock()
    private var _started: [Started] = []
    private var _layouts: [CompositeLayout] = []
    private var _finished = 0

    var started: [Started] { lock.withLock { _started } }
    var layouts: [CompositeLayout] { lock.withLock { _layouts } }
    var finished: Int { lock.withLock { _finished } }

    func publishedTracks(room: String) async -> [EgressTrackSource] { [] }

    func startRecording(room: String, tracks: [EgressTrackSource], path: String, container: RecordingContainer,
                        audioCodec: AudioEncoderSettings.Codec?, onActive: @escaping @Sendable () -> Void,
                        onFailure: @escaping @Sendable (RecordingError) -> Void) async throws(RecordingError)
        -> any EgressRecordingControl
    {
        throw .noTracks
    }

    func startRoomComposite(room: String, path: String?, streamURLs: [String], segments: HLSSettings?,
                            onlyTracks: Set<String>?, options: CompositeOptions, screenShares: Set<String>,
                            onActive: @escaping @Sendable () -> Void,
                            onFailure: @escaping @Sendable (RecordingError) -> Void,
                            onStreamFailed: @escaping @Sendable (_ url: String, _ error: RecordingError) -> Void)
        async throws(RecordingError)
        -> any EgressCompositeControl
    {
        lock.withLock { _started.append(Started(path: path ?? "", options: options, screenShares: screenShares, onActive: onActive,
                                                streamURLs: streamURLs, onStreamFailed: onStreamFailed)) }
        return Control(path: path ?? "", media: self)
    }

    struct Control: EgressCompositeControl {
        let path: String
        let media: FakeCompositeMedia
        func finish() async -> Result<RecordingResult, RecordingError> {
            media.lock.withLock { media._finished += 1 }
            return .success(RecordingResult(filename: path, sizeBytes: 1000, durationNanoseconds: 8_000_000_000,
                                            startedAtNanoseconds: 1, endedAtNanoseconds: 2, framesWritten: [240]))
        }
        func setLayout(_ layout: CompositeLayout) async { media.lock.withLock { media._layouts.append(layout) } }
        func noteScreenShare(trackSid: String) async {}
        /// Every reconnection is refused, as by a receiver that is gone.
        func addStream(_ url: String) async throws(RecordingError) {
            throw .muxerSetupFailed("cannot connect to \(StreamURL.redacted(url)): refused")
        }
    }
}

@Suite struct RoomCompositeEgressTests {
    static func request(_ configure: (inout Livekit_RoomCompositeEgressRequest) -> Void = { _ in })
        -> Livekit_RoomCompositeEgressRequest {
        var request = Livekit_RoomCompositeEgressRequest()
        request.roomName = "shop"
        configure(&request)
        return request
    }

    static func options(_ request: Livekit_RoomCompositeEgressRequest, _ type: Livekit_EncodedFileType = .defaultFiletype,
                        path: String = "/rec/x") throws -> CompositeOptions {
        try RoomCompositeRequest.options(request, fileType: type, path: path)
    }

    @Test func presetsAdvancedOptionsAndFileTypes() throws {
        let plain = try Self.options(Self.request())
        #expect(plain.width == 1920 && plain.height == 1080 && plain.framerate == 30 && plain.videoBitrate == 4_500_000)
        #expect(plain.container == .mp4 && plain.includesVideo && plain.includesAudio && plain.audioCodec == .aac)
        #expect(plain.layout == CompositeLayout(.grid))

        let hd = try Self.options(Self.request { $0.preset = .h264720P30; $0.layout = "speaker-light" }, .mp4)
        #expect(hd.width == 1280 && hd.height == 720 && hd.framerate == 30 && hd.videoBitrate == 3_000_000)
        #expect(hd.layout == CompositeLayout(.speaker, theme: .light))
        let hd60 = try Self.options(Self.request { $0.preset = .h264720P60 })
        #expect(hd60.framerate == 60 && hd60.width == 1280)
        let portrait = try Self.options(Self.request { $0.preset = .portraitH2641080P30 })
        #expect(portrait.width == 1080 && portrait.height == 1920)

        let advanced = try Self.options(Self.request {
            $0.advanced = Livekit_EncodingOptions.with {
                $0.width = 641
                $0.height = 480
                $0.framerate = 15
                $0.videoBitrate = 1200
                $0.audioBitrate = 64
                $0.keyFrameInterval = 2
            }
        })
        #expect(advanced.width == 640 && advanced.height == 480 && advanced.framerate == 15)
        #expect(advanced.videoBitrate == 1_200_000 && advanced.audioBitrate == 64_000 && advanced.keyframeIntervalSeconds == 2)

        // OGG is audio only, in Opus; so is a .ogg filepath with the default type.
        let ogg = try Self.options(Self.request(), .ogg)
        #expect(ogg.container == .ogg && !ogg.includesVideo && ogg.includesAudio && ogg.audioCodec == .opus)
        #expect(try Self.options(Self.request(), path: "/rec/x.ogg").container == .ogg)
        let audioOnly = try Self.options(Self.request { $0.audioOnly = true }, .mp4)
        #expect(!audioOnly.includesVideo && audioOnly.includesAudio)
        let mp3 = try Self.options(Self.request(), .mp3)
        #expect(mp3.container == .mp3 && !mp3.includesVideo && mp3.audioCodec == .mp3)
        let videoOnly = try Self.options(Self.request { $0.videoOnly = true })
        #expect(videoOnly.includesVideo && !videoOnly.includesAudio)
    }

    @Test func impossibleRequestsAreRefusedWithAReason() {
        #expect(throws: RoomCompositeRequest.Failure.self) { try Self.options(Self.request { $0.audioOnly = true; $0.videoOnly = true }) }
        #expect(throws: RoomCompositeRequest.Failure.self) { try Self.options(Self.request { $0.videoOnly = true }, .ogg) }
        #expect(throws: RoomCompositeRequest.Failure.self) { try Self.options(Self.request(), .mp4, path: "/rec/x.ogg") }
        #expect(throws: RoomCompositeRequest.Failure.self) { try Self.options(Self.request(), path: "/rec/x.webm") }
        #expect(throws: RoomCompositeRequest.Failure.self) { try Self.options(Self.request { $0.preset = .passthrough }) }
        #expect(throws: RoomCompositeRequest.Failure(description: "custom_base_url needs a browser-based template, "
                                                     + "which Sluice does not run", unimplemented: true)) {
            try Self.options(Self.request { $0.customBaseURL = "https://example.com" })
        }
        #expect(throws: RoomCompositeRequest.Failure.self) {
            try Self.options(Self.request { $0.advanced = Livekit_EncodingOptions.with { $0.width = 8 } })
        }
    }

    struct Fixture {
        let store: SluiceStore
        let rooms: RoomManager
        let media = FakeCompositeMedia()
        let manager: EgressManager

        init() async throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-composite-\(UUID().uuidString).sqlite").path
            store = try SluiceStore(path: path)
            rooms = RoomManager(store: store, defaults: RoomDefaults(), logger: Logger(label: "test"))
            manager = EgressManager(store: store, rooms: rooms, media: media, webhooks: nil,
                                    recordingsPath: "/tmp/sluice-composite-tests/rec", logger: Logger(label: "test"))
            _ = try await rooms.createRoom(name: "shop")
        }

        func plan(_ request: Livekit_RoomCompositeEgressRequest, fileType: Livekit_EncodedFileType = .defaultFiletype,
                  filepath: String = "") -> EgressManager.CompositePlan {
            EgressManager.CompositePlan(roomName: request.roomName, request: request, fileType: fileType,
                                        filepath: filepath, defaultName: EgressService.defaultCompositeName)
        }

        func stored(_ id: String) async throws -> Livekit_EgressInfo? {
            await manager.flush()
            return try await store.egresses(egressID: id).first.map { try Livekit_EgressInfo(serializedBytes: $0.info) }
        }
    }

    @Test func startUpdateLayoutAndEndWhenTheRoomEmpties() async throws {
        let f = try await Fixture()
        let info = try await f.manager.startRoomComposite(f.plan(Self.request { $0.layout = "grid"; $0.preset = .h264720P30 },
                                                                 filepath: "{room_name}/all"))
        #expect(info.status == .egressStarting && info.roomName == "shop")
        #expect(info.fileResults.first?.filename == "/tmp/sluice-composite-tests/rec/shop/all.mp4")
        guard case .roomComposite(let request)? = info.request else {
            Issue.record("not a room composite: \(String(describing: info.request))")
            return
        }
        #expect(request.layout == "grid")
        #expect(f.media.started.first?.options.width == 1280)
        f.media.started.first?.onActive()

        let updated = try await f.manager.updateLayout(info.egressID, to: CompositeLayout(.speaker), named: "speaker")
        guard case .roomComposite(let changed)? = updated.request else {
            Issue.record("not a room composite after update")
            return
        }
        #expect(changed.layout == "speaker" && updated.egressID == info.egressID && updated.isLive)
        #expect(f.media.layouts == [CompositeLayout(.speaker)])
        guard case .roomComposite(let persisted)? = try await f.stored(info.egressID)?.request else {
            Issue.record("the update is not persisted")
            return
        }
        #expect(persisted.layout == "speaker")

        await #expect(throws: TwirpError(.notFound, "egress EG_nope does not exist")) {
            try await f.manager.updateLayout("EG_nope", to: CompositeLayout(.grid), named: "grid")
        }

        // The room empties: the composite ends by itself, COMPLETE.
        var empty = try #require(await f.rooms.room(named: "shop"))
        empty.numParticipants = 0
        await f.manager.handle(.participantLeft(empty, Livekit_ParticipantInfo.with { $0.identity = "bob" }))
        for _ in 0..<200 where try await f.stored(info.egressID)?.status != .egressComplete {
            try await Task.sleep(for: .milliseconds(10))
        }
        let done = try await f.stored(info.egressID)
        #expect(done?.status == .egressComplete && done?.fileResults.first?.duration == 8_000_000_000)
        #expect(f.media.finished == 1)
        await #expect(throws: TwirpError.self) {
            try await f.manager.updateLayout(info.egressID, to: CompositeLayout(.grid), named: "grid")
        }
    }

    /// A layout name the app chose itself (for a custom template elsewhere) is not refused: it
    /// draws as LiveKit's template draws it, a grid, and EgressInfo keeps the name as given.
    @Test func aLayoutNameTheAppChoseDrawsAsAGridAndIsKept() async throws {
        let f = try await Fixture()
        let info = try await f.manager.startRoomComposite(f.plan(Self.request { $0.layout = "brand-mosaic-light" }))
        guard case .roomComposite(let request)? = info.request else {
            Issue.record("not a room composite: \(String(describing: info.request))")
            return
        }
        #expect(request.layout == "brand-mosaic-light")
        #expect(f.media.started.first?.options.layout
                == CompositeLayout(.grid, theme: .light, gridYieldsToScreenShare: false))
        f.media.started.first?.onActive()
        let updated = try await f.manager.updateLayout(info.egressID, to: RoomCompositeRequest.layout("Speaker"),
                                                       named: "Speaker")
        guard case .roomComposite(let changed)? = updated.request else {
            Issue.record("not a room composite after update")
            return
        }
        #expect(changed.layout == "Speaker")
        #expect(f.media.layouts == [CompositeLayout(.grid, gridYieldsToScreenShare: false)])
    }

    /// A stream-only composite: no file result, each URL a StreamInfo with its key redacted; a
    /// stream that fails while the others go on is retried 3 times, then turns FAILED in the
    /// stored info.
    @Test func streamOnlyCompositeReportsEachStreamAndAFailedOneAtOnce() async throws {
        let f = try await Fixture()
        var plan = f.plan(Self.request { $0.layout = "grid" })
        plan.writesFile = false
        plan.streamURLs = ["rtmp://live.example/app/abcdefghij", "rtmp://backup.example/app/klmnopqrst"]
        let info = try await f.manager.startRoomComposite(plan)
        #expect(info.fileResults.isEmpty)
        #expect(info.streamResults.map(\.url) == ["rtmp://live.example/app/{abc...hij}", "rtmp://backup.example/app/{klm...rst}"])
        #expect(info.streamResults.allSatisfy { $0.status == .active })
        let started = try #require(f.media.started.first)
        #expect(started.path.isEmpty && started.streamURLs == plan.streamURLs)
        started.onActive()
        started.onStreamFailed(plan.streamURLs[1], .muxerSetupFailed("cannot connect to rtmp://backup.example/app/{klm...rst}: refused"))
        var stored = try await f.stored(info.egressID)
        for _ in 0..<500 where stored?.streamResults.last?.status != .failed {
            try await Task.sleep(for: .milliseconds(10))
            stored = try await f.stored(info.egressID)
        }
        #expect(stored?.streamResults.map(\.status) == [.active, .failed])
        #expect(stored?.streamResults.last?.error == "cannot connect to rtmp://backup.example/app/{klm...rst}: refused")
        #expect(stored?.streamResults.last?.retries == 3)
        #expect(stored?.isLive == true, "the egress goes on with the other stream")
    }

    @Test func refusalsBeforeAnythingStarts() async throws {
        let f = try await Fixture()
        await #expect(throws: TwirpError(.notFound, "room nowhere does not exist")) {
            try await f.manager.startRoomComposite(f.plan(Self.request { $0.roomName = "nowhere" }))
        }
        await #expect(throws: TwirpError.self) {
            try await f.manager.startRoomComposite(f.plan(Self.request(), fileType: .mp3, filepath: "x.ogg"))
        }
        await #expect(throws: TwirpError.self) {
            try await f.manager.startRoomComposite(f.plan(Self.request(), filepath: "../../x.mp4"))
        }
        #expect(f.media.started.isEmpty)
    }
}
