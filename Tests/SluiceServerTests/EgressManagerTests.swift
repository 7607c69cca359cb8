import Egress
import Foundation
import LiveKitProto
import Logging
import SFU
import Signal
import Store
import Synchronization
import Testing
@testable import SluiceServer

/// A media plane without media: tracks are declared, recordings are recorded as calls.
final class FakeEgressMedia: EgressMediaPlane, @unchecked Sendable {
    struct Started {
        var path: String
        var container: RecordingContainer
        var audioCodec: AudioEncoderSettings.Codec?
        var tracks: [String]
        var onActive: @Sendable () -> Void
        var onFailure: @Sendable (RecordingError) -> Void
    }

    private let lock = NSLock()
    private var _tracks: [EgressTrackSource]
    private var _started: [Started] = []
    private var _finished: [String] = []
    var openError: RecordingError?

    init(tracks: [EgressTrackSource]) { _tracks = tracks }

    var started: [Started] { lock.withLock { _started } }
    var finished: [String] { lock.withLock { _finished } }

    func publishedTracks(room: String) async -> [EgressTrackSource] { lock.withLock { _tracks } }

    func startRecording(room: String, tracks: [EgressTrackSource], path: String, container: RecordingContainer,
                        audioCodec: AudioEncoderSettings.Codec?,
                        onActive: @escaping @Sendable () -> Void,
                        onFailure: @escaping @Sendable (RecordingError) -> Void) async throws(RecordingError)
        -> any EgressRecordingControl
    {
        if let openError { throw openError }
        lock.withLock {
            _started.append(Started(path: path, container: container, audioCodec: audioCodec, tracks: tracks.map(\.sid), onActive: onActive,
                                    onFailure: onFailure))
        }
        return Control(path: path, media: self)
    }

    struct Control: EgressRecordingControl {
        let path: String
        let media: FakeEgressMedia
        func finish() async -> Result<RecordingResult, RecordingError> {
            media.lock.withLock { media._finished.append(path) }
            return .success(RecordingResult(filename: path, sizeBytes: 4321, durationNanoseconds: 6_000_000_000,
                                            startedAtNanoseconds: 1_000, endedAtNanoseconds: 2_000, framesWritten: [90, 300]))
        }
    }
}

@Suite struct EgressManagerTests {
    static let video = EgressTrackSource(sid: "TR_video", identity: "alice", kind: .video,
                                         codec: TrackCodec(name: "H264", payloadType: 102, clockRate: 90000), layerCount: 1)
    static let audio = EgressTrackSource(sid: "TR_audio", identity: "alice", kind: .audio,
                                         codec: TrackCodec(name: "opus", payloadType: 111, clockRate: 48000, channels: 2),
                                         layerCount: 1)

    struct Fixture {
        let storePath: String
        let store: SluiceStore
        let rooms: RoomManager
        let media: FakeEgressMedia
        let manager: EgressManager
        let recordings = "/tmp/sluice-egress-tests/rec"

        init(storePath: String? = nil, createRoom: Bool = true) async throws {
            self.storePath = storePath ?? FileManager.default.temporaryDirectory
                .appendingPathComponent("sluice-egress-\(UUID().uuidString).sqlite").path
            store = try SluiceStore(path: self.storePath)
            rooms = RoomManager(store: store, defaults: RoomDefaults(), logger: Logger(label: "test"))
            media = FakeEgressMedia(tracks: [EgressManagerTests.video, EgressManagerTests.audio])
            manager = EgressManager(store: store, rooms: rooms, media: media, webhooks: nil,
                                    recordingsPath: recordings, logger: Logger(label: "test"))
            if createRoom { _ = try await rooms.createRoom(name: "shop") }
        }

        func plan(_ tracks: [EgressTrackSource], filepath: String = "", fileType: Livekit_EncodedFileType? = nil,
                  identity: String? = nil) -> EgressManager.Plan {
            var template = FilenameTemplate()
            template.trackID = tracks[0].sid
            return EgressManager.Plan(roomName: "shop", tracks: tracks, fileType: fileType, filepath: filepath,
                                      defaultName: "{room_name}-{track_id}", template: template, identity: identity,
                                      request: .track(Livekit_TrackEgressRequest()))
        }

        func stored(_ id: String) async throws -> Livekit_EgressInfo? {
            await manager.flush()
            return try await store.egresses(egressID: id).first.map { try Livekit_EgressInfo(serializedBytes: $0.info) }
        }
    }

    @Test func lifecycleStartingActiveCompleteIsPersisted() async throws {
        let f = try await Fixture()
        let info = try await f.manager.start(f.plan([Self.video]))
        #expect(info.status == .egressStarting && info.egressID.hasPrefix("EG_") && info.roomName == "shop")
        #expect(info.fileResults.first?.filename == f.recordings + "/shop-TR_video.mp4")
        #expect(f.media.started.map(\.container) == [.mp4])
        #expect(try await f.stored(info.egressID)?.status == .egressStarting)

        await f.manager.recordingActive(info.egressID)
        let active = try await f.stored(info.egressID)
        #expect(active?.status == .egressActive && (active?.startedAt ?? 0) > 0)
        #expect(try await f.manager.list(roomName: "shop", egressID: nil, activeOnly: true).map(\.egressID) == [info.egressID])

        let done = try await f.manager.stop(info.egressID)
        #expect(done.status == .egressComplete && done.endedAt >= done.startedAt)
        #expect(done.fileResults.first?.size == 4321 && done.fileResults.first?.duration == 6_000_000_000)
        #expect(try await f.stored(info.egressID) == done)
        #expect(try await f.manager.list(roomName: "shop", egressID: nil, activeOnly: true).isEmpty)
        #expect(try await f.manager.list(roomName: nil, egressID: info.egressID, activeOnly: false) == [done])
        await #expect(throws: TwirpError.self) { try await f.manager.stop(info.egressID) }
        await #expect(throws: TwirpError(.notFound, "egress EG_nope does not exist")) { try await f.manager.stop("EG_nope") }
    }

    /// VP8 into MP4 starts (the recorder transcodes it), and the audio codec asked for reaches it.
    @Test func transcodedRequestsPassTheirChoiceThrough() async throws {
        let f = try await Fixture()
        let vp8 = EgressTrackSource(sid: "TR_vp8", identity: "bob", kind: .video,
                                    codec: TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000), layerCount: 1)
        var plan = f.plan([vp8, Self.audio], fileType: .mp4, identity: "bob")
        plan.audioCodec = .aac
        let mp4 = try await f.manager.start(plan)
        #expect(mp4.status == .egressStarting && mp4.fileResults.first?.filename.hasSuffix(".mp4") == true)
        let mp3 = try await f.manager.start(f.plan([vp8, Self.audio], fileType: .mp3, identity: "bob"))
        #expect(mp3.fileResults.first?.filename.hasSuffix(".mp3") == true)
        #expect(f.media.started.map(\.container) == [.mp4, .mp3])
        #expect(f.media.started.map(\.audioCodec) == [.aac, nil])
        #expect(f.media.started.map(\.tracks) == [["TR_vp8", "TR_audio"], ["TR_audio"]])
    }

    @Test func endsWhenItsTracksAreUnpublishedOrTheRoomEmpties() async throws {
        let f = try await Fixture()
        let composite = try await f.manager.start(f.plan([Self.video, Self.audio], fileType: .mp4, identity: "alice"))
        let track = try await f.manager.start(f.plan([Self.audio]))
        #expect(f.media.started.last?.container == .ogg)
        let room = try #require(await f.rooms.room(named: "shop"))
        let audioInfo = Livekit_TrackInfo.with { $0.sid = "TR_audio" }
        let videoInfo = Livekit_TrackInfo.with { $0.sid = "TR_video" }
        let alice = Livekit_ParticipantInfo.with { $0.identity = "alice" }

        await f.manager.handle(.trackUnpublished(room, alice, audioInfo))
        try await waitUntil { try await f.stored(track.egressID)?.status == .egressComplete }
        // The composite still records video.
        #expect(try await f.stored(composite.egressID)?.status == .egressStarting)
        await f.manager.handle(.trackUnpublished(room, alice, videoInfo))
        try await waitUntil { try await f.stored(composite.egressID)?.status == .egressComplete }
        #expect(await f.manager.liveEgressIDs.isEmpty)

        let third = try await f.manager.start(f.plan([Self.video]))
        var empty = room
        empty.numParticipants = 0
        await f.manager.handle(.participantLeft(empty, Livekit_ParticipantInfo.with { $0.identity = "bob" }))
        try await waitUntil { try await f.stored(third.egressID)?.status == .egressComplete }

        let fourth = try await f.manager.start(f.plan([Self.video]))
        await f.manager.handle(.finished(room))
        try await waitUntil { try await f.stored(fourth.egressID)?.status == .egressComplete }
        #expect(f.media.finished.count == 4)
    }

    @Test func restartTurnsLiveEgressesIntoFailed() async throws {
        let f = try await Fixture()
        let live = try await f.manager.start(f.plan([Self.video]))
        await f.manager.recordingActive(live.egressID)
        let done = try await f.manager.start(f.plan([Self.audio]))
        _ = try await f.manager.stop(done.egressID)
        await f.manager.flush()

        // A new process over the same database.
        let g = try await Fixture(storePath: f.storePath, createRoom: false)
        await g.manager.recoverInterrupted()
        let recovered = try #require(try await g.stored(live.egressID))
        #expect(recovered.status == .egressFailed && recovered.error == "server restarted" && recovered.endedAt > 0)
        #expect(recovered.fileResults.first?.filename == f.recordings + "/shop-TR_video.mp4")
        #expect(try await g.stored(done.egressID)?.status == .egressComplete)
        #expect(try await g.manager.list(roomName: "shop", egressID: nil, activeOnly: true).isEmpty)
        #expect(try await g.manager.list(roomName: "shop", egressID: nil, activeOnly: false).count == 2)
    }

    @Test func failuresBecomeFailedEgressesWithTheReason() async throws {
        let f = try await Fixture()
        f.media.openError = .unwritableDirectory(path: "/ro", reason: "Permission denied")
        let refused = try await f.manager.start(f.plan([Self.video]))
        #expect(refused.status == .egressFailed && refused.error == "cannot write to directory /ro: Permission denied")
        #expect(try await f.stored(refused.egressID)?.status == .egressFailed)

        f.media.openError = nil
        let running = try await f.manager.start(f.plan([Self.video]))
        f.media.started.last?.onFailure(.diskFull(path: "/x.mp4"))
        try await waitUntil { try await f.stored(running.egressID)?.status == .egressFailed }
        #expect(try await f.stored(running.egressID)?.error == "no space left on device while writing /x.mp4")

        let transcoding = try await f.manager.start(f.plan([Self.video]))
        f.media.started.last?.onFailure(.codecFailed("cannot open the H.264 encoder"))
        try await waitUntil { try await f.stored(transcoding.egressID)?.status == .egressFailed }
        #expect(try await f.stored(transcoding.egressID)?.error == "transcoding failed: cannot open the H.264 encoder")
    }

    @Test func impossibleRequestsAreRefusedBeforeAnythingStarts() async throws {
        let f = try await Fixture()
        var plan = f.plan([Self.video])
        plan.roomName = "nowhere"
        await #expect(throws: TwirpError(.notFound, "room nowhere does not exist")) { try await f.manager.start(plan) }
        await #expect(throws: TwirpError.self) { try await f.manager.start(f.plan([Self.video], filepath: "../../etc/x.mp4")) }
        let vp8 = EgressTrackSource(sid: "TR_vp8", identity: "bob", kind: .video,
                                    codec: TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000), layerCount: 3)
        // MP3 is audio only: a video track leaves nothing to record.
        await #expect(throws: TwirpError.self) { try await f.manager.start(f.plan([vp8], fileType: .mp3)) }
        var aacInOgg = f.plan([Self.audio], fileType: .ogg)
        aacInOgg.audioCodec = .aac
        await #expect(throws: TwirpError.self) { try await f.manager.start(aacInOgg) }
        #expect(f.media.started.isEmpty)
        #expect(try await f.manager.list(roomName: nil, egressID: nil, activeOnly: false).isEmpty)
    }

    private func waitUntil(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<200 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition not met within 2 s")
    }
}
