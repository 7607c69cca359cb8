import Auth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LiveKitProto
import NIOCore
import Testing
@testable import SluiceServer

/// The legacy single output and the `*_outputs` lists merged as LiveKit's SDKs fill them.
@Suite struct EgressOutputsTests {
    func file(_ path: String, _ type: Livekit_EncodedFileType = .mp4) -> Livekit_EncodedFileOutput {
        .with { $0.filepath = path; $0.fileType = type }
    }

    func stream(_ urls: [String]) -> Livekit_StreamOutput {
        .with { $0.protocol = .rtmp; $0.urls = urls }
    }

    func message(_ body: () throws(TwirpError) -> EgressOutputs) -> TwirpError? {
        do throws(TwirpError) { _ = try body(); return nil } catch { return error }
    }

    /// The Node SDK's `startRoomCompositeEgress(room, new EncodedFileOutput(...))`: the same output
    /// in `file` and in `file_outputs` is one output.
    @Test func theSameFileInBothPlacesIsOneOutput() throws {
        var req = Livekit_RoomCompositeEgressRequest()
        req.file = file("recordings/r/1.mp4")
        req.fileOutputs = [file("recordings/r/1.mp4")]
        let outputs = try EgressOutputs(req)
        #expect(outputs.files == [file("recordings/r/1.mp4")])
        #expect(outputs.streams.isEmpty && outputs.segments.isEmpty && outputs.images.isEmpty)
    }

    @Test func legacyAloneOrListAloneIsKept() throws {
        var legacy = Livekit_TrackCompositeEgressRequest()
        legacy.file = file("a.mp4")
        #expect(try EgressOutputs(legacy).files == [file("a.mp4")])
        var list = Livekit_TrackCompositeEgressRequest()
        list.fileOutputs = [file("b.mp4")]
        #expect(try EgressOutputs(list).files == [file("b.mp4")])
        var legacyStream = Livekit_WebEgressRequest()
        legacyStream.stream = stream(["rtmp://x/live"])
        #expect(try EgressOutputs(legacyStream).streams == [stream(["rtmp://x/live"])])
        #expect(try EgressOutputs(Livekit_RoomCompositeEgressRequest()).isEmpty)
    }

    /// Different kinds never conflict: a legacy stream beside a listed file gives both.
    @Test func kindsAreMergedSeparately() throws {
        var req = Livekit_RoomCompositeEgressRequest()
        req.stream = stream(["rtmp://x/live"])
        req.fileOutputs = [file("a.mp4")]
        req.streamOutputs = [stream(["rtmp://x/live"])]
        req.imageOutputs = [.with { $0.filenamePrefix = "a" }, .with { $0.filenamePrefix = "b" }]
        let outputs = try EgressOutputs(req)
        #expect(outputs.files.count == 1 && outputs.streams.count == 1 && outputs.images.count == 2)
    }

    /// A conflict's message names the outputs without their upload credentials: it is logged too.
    @Test func conflictMessagesHideUploadSecrets() {
        var withKeys = file("a.mp4")
        withKeys.s3 = .with { $0.bucket = "b"; $0.accessKey = "AKIAEXAMPLE"; $0.secret = "s3cr3t-value" }
        var req = Livekit_RoomCompositeEgressRequest()
        req.file = withKeys
        req.fileOutputs = [file("b.mp4")]
        let error = message { () throws(TwirpError) in try EgressOutputs(req) }
        let text = error.map { "\($0)" } ?? ""
        #expect(error != nil)
        #expect(!text.contains("s3cr3t-value") && !text.contains("AKIAEXAMPLE"))
        #expect(text.contains("{secret}"))
    }

    /// Two different file outputs are a conflict, refused with both named as the caller wrote them.
    @Test func aGenuineConflictNamesBoth() throws {
        var req = Livekit_RoomCompositeEgressRequest()
        req.file = file("a.mp4")
        req.fileOutputs = [file("b.ogg", .ogg)]
        let error = try #require(message { () throws(TwirpError) in try EgressOutputs(req) })
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("the legacy file field and file_outputs differ"), "\(error.message)")
        #expect(error.message.contains(#""filepath":"a.mp4""#) && error.message.contains(#""filepath":"b.ogg""#),
                "\(error.message)")
        #expect(error.message.contains(#""fileType":"OGG""#), "\(error.message)")

        var listed = Livekit_ParticipantEgressRequest()
        listed.segmentOutputs = [.with { $0.filenamePrefix = "x" }, .with { $0.filenamePrefix = "y" }]
        let twoSegments = try #require(message { () throws(TwirpError) in try EgressOutputs(listed) })
        #expect(twoSegments.message.contains("segment_outputs holds 2 different outputs"), "\(twoSegments.message)")

        var streams = Livekit_TrackCompositeEgressRequest()
        streams.stream = stream(["rtmp://a/live"])
        streams.streamOutputs = [stream(["rtmp://a/live"]), stream(["rtmp://b/live"])]
        let twoStreams = try #require(message { () throws(TwirpError) in try EgressOutputs(streams) })
        #expect(twoStreams.message.contains("rtmp://a/live") && twoStreams.message.contains("rtmp://b/live"))
    }

    /// A file type that differs makes a different output even with the same path.
    @Test func sameFilepathDifferentTypeConflicts() {
        var req = Livekit_RoomCompositeEgressRequest()
        req.file = file("a", .mp4)
        req.fileOutputs = [file("a", .ogg)]
        #expect(message { () throws(TwirpError) in try EgressOutputs(req) }?.code == .invalidArgument)
    }

    /// The Node SDK's exact JSON through the Twirp route: the doubled output passes and the request
    /// goes on to its next check (here audio_only with video_only, so no recording starts); a real conflict
    /// is a 400 naming both outputs.
    @Test func nodeSDKDoubledOutputPassesTheMerge() async throws {
        let app = try RoomServiceTests.makeApp()
        _ = try await app.rooms.createRoom(name: "shop")
        let token = try RoomServiceTests.token(VideoGrant(roomRecord: true))
        try await Application(router: app.makeRouter()).test(.router) { client in
            func post(_ json: String) async throws -> (HTTPResponse.Status, String) {
                let r = try await client.execute(uri: "/twirp/livekit.Egress/StartRoomCompositeEgress", method: .post,
                                                 headers: [.contentType: "application/json;charset=UTF-8",
                                                           .authorization: "Bearer \(token)"],
                                                 body: ByteBuffer(string: json))
                return (r.status, String(buffer: r.body))
            }
            // An enum value this server's schema does not know (a newer SDK's) is skipped like an unknown field.
            let future = try await post(#"{"roomName":"shop","audioOnly":true,"videoOnly":true,"audioMixing":"A_FUTURE_MIXING","#
                                        + #""fileOutputs":[{"fileType":"MP4","filepath":"a.mp4"}]}"#)
            #expect(future.0 == .badRequest && future.1.contains("cannot both be set"), "\(future)")
            let same = try await post(#"{"roomName":"shop","audioOnly":true,"videoOnly":true,"file":{"fileType":"MP4","filepath":"a.mp4"},"#
                                      + #""fileOutputs":[{"fileType":"MP4","filepath":"a.mp4"}]}"#)
            #expect(same.0 == .badRequest && same.1.contains("cannot both be set"), "\(same)")
            let differ = try await post(#"{"roomName":"shop","audioOnly":true,"videoOnly":true,"file":{"filepath":"a.mp4"},"#
                                        + #""fileOutputs":[{"filepath":"b.mp4"}]}"#)
            #expect(differ.0 == .badRequest && differ.1.contains("a.mp4") && differ.1.contains("b.mp4"), "\(differ)")
        }
    }

    /// LiveKit methods and services Sluice does not serve answer `unimplemented` with a reason;
    /// a method LiveKit does not have is `bad_route`.
    @Test func unservedMethodsAreUnimplemented() async throws {
        let app = try RoomServiceTests.makeApp()
        let token = try RoomServiceTests.token(RoomServiceTests.admin)
        try await Application(router: app.makeRouter()).test(.router) { client in
            for (path, status) in [("livekit.RoomService/MoveParticipant", HTTPResponse.Status.notImplemented),
                                   ("livekit.RoomService/ForwardParticipant", .notImplemented),
                                   ("livekit.Ingress/ListIngress", .notImplemented),
                                   ("livekit.SIP/ListSIPInboundTrunk", .notImplemented),
                                   ("livekit.AgentDispatchService/CreateDispatch", .notImplemented),
                                   ("livekit.RoomService/NoSuchMethod", .notFound)] {
                let r = try await client.execute(uri: "/twirp/\(path)", method: .post,
                                                 headers: [.contentType: "application/json", .authorization: "Bearer \(token)"],
                                                 body: ByteBuffer(string: "{}"))
                let body = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any]
                #expect(r.status == status, "\(path)")
                #expect(body?["code"] as? String == (status == .notFound ? "bad_route" : "unimplemented"), "\(path)")
                #expect((body?["msg"] as? String ?? "").count > 20, "\(path)")
            }
            // Without a token the refusal is unauthenticated first, as for served methods.
            let anonymous = try await client.execute(uri: "/twirp/livekit.Ingress/ListIngress", method: .post,
                                                     headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}"))
            #expect(anonymous.status == .unauthorized)
        }
    }
}
