import Auth
import Egress
import LiveKitProto
import SFU
import Signal
import SwiftProtobuf

/// LiveKit's Egress service over Twirp (`/twirp/livekit.Egress/*`), grant `roomRecord`.
///
/// Sluice records on the server itself (no headless browser): StartTrackEgress,
/// StartParticipantEgress and StartTrackCompositeEgress, into files under `recordings.path`.
/// Tracks are copied where the container takes their codec and transcoded where it does not
/// (VP8 -> H.264 for MP4, Opus -> MP3 for MP3; see `EgressContainerChoice`); for these, of the
/// encoding options only `advanced.audio_codec` is used (AAC or MP3 instead of Opus), presets
/// and the rest are accepted and ignored. StartRoomCompositeEgress runs Sluice's own compositor
/// (LiveKit's grid, speaker and single-speaker layouts, H.264 + AAC at the preset's or advanced
/// size and rate, changed live by UpdateLayout; see `RoomCompositeRequest`), to a file, to RTMP
/// stream URLs (FLV over libavformat's rtmp://, from the same encode), to HLS segments, or any of
/// these together. Participant and track composite egress with a stream or segment output go
/// through the same compositor, drawing and mixing only their tracks (H.264 + AAC, as LiveKit
/// encodes them); with only a file output they copy or transcode as above. UpdateStream adds and
/// removes RTMP URLs of a running composite. Web egress needs a browser and answers 501, as do
/// image outputs. A file or segment output's `s3` upload (or, without one, the server's
/// `recordings.s3`) sends the closed file, or the segments and playlists, to S3-compatible
/// storage; GCP, Azure and Alibaba OSS uploads answer 501.
struct EgressService: Sendable {
    let rooms: RoomManager
    let media: any EgressMediaPlane
    let manager: EgressManager
    /// In a cluster, ListEgress adds the other nodes' egresses from the shared state.
    var cluster: ClusterNode? = nil

    /// LiveKit's default names when a request gives no filepath (the extension follows the container).
    static let defaultTrackName = "{room_name}-{track_id}-{time}"
    static let defaultParticipantName = "{room_name}-{publisher_identity}-{time}"
    static let defaultCompositeName = "{room_name}-{time}"

    func router() -> TwirpRouter {
        var r = TwirpRouter(service: "livekit.Egress")
        r.register("StartTrackEgress", Livekit_TrackEgressRequest.self) { req, claims in
            try requireRecord(claims)
            try await requireRoom(req.roomName)
            let filepath: String
            let upload: S3Destination?
            switch req.output {
            case .file(let file)?:
                switch file.output {
                case nil: upload = nil
                case .s3(let s3)?: upload = S3Destination(s3)
                default: throw Self.noUploads
                }
                filepath = file.filepath
            case .websocketURL?:
                throw TwirpError(.unimplemented, "websocket track egress is not implemented; use a file output")
            case nil:
                throw TwirpError(.invalidArgument, "StartTrackEgress needs a file output")
            }
            let tracks = await media.publishedTracks(room: req.roomName)
            guard let track = tracks.first(where: { $0.sid == req.trackID }) else {
                throw TwirpError(.notFound, "track \(req.trackID) is not published in room \(req.roomName)")
            }
            var plan = EgressManager.Plan(roomName: req.roomName, tracks: [track], fileType: nil, filepath: filepath,
                                          defaultName: Self.defaultTrackName, template: FilenameTemplate(),
                                          identity: nil, request: .track(req), upload: upload)
            await describe(track, in: &plan.template, room: req.roomName)
            return try await manager.start(plan)
        }
        r.register("StartParticipantEgress", Livekit_ParticipantEgressRequest.self) { req, claims in
            try requireRecord(claims)
            try await requireRoom(req.roomName)
            let outputs = try EgressOutputs(req)
            let encoded = !outputs.streams.isEmpty || !outputs.segments.isEmpty
            let output: Livekit_EncodedFileOutput? = encoded ? nil : try Self.fileOutput(outputs)
            let participant: Livekit_ParticipantInfo
            do {
                participant = try await rooms.participant(roomName: req.roomName, identity: req.identity)
            } catch {
                throw TwirpError(.notFound, "participant \(req.identity) is not in room \(req.roomName)")
            }
            let wanted: Set<Livekit_TrackSource> = req.screenShare ? [.screenShare, .screenShareAudio]
                                                                   : [.camera, .microphone, .unknown]
            let sources = Dictionary(participant.tracks.map { ($0.sid, $0.source) }, uniquingKeysWith: { a, _ in a })
            let theirs = await media.publishedTracks(room: req.roomName).filter {
                $0.identity == req.identity && wanted.contains(sources[$0.sid] ?? .unknown)
            }
            // One video and one audio track: a participant's camera and microphone (or its screen share).
            let tracks = [theirs.first { $0.kind == .video }, theirs.first { $0.kind == .audio }].compactMap { $0 }
            guard !tracks.isEmpty else {
                throw TwirpError(.failedPrecondition, "participant \(req.identity) publishes no "
                                 + (req.screenShare ? "screen share" : "camera or microphone") + " track to record")
            }
            var template = FilenameTemplate()
            template.publisherIdentity = req.identity
            guard let output else {
                var plan = try Self.compositePlan(outputs, room: req.roomName, tracks: tracks, options: req.options,
                                                  defaultName: Self.defaultParticipantName, request: .participant(req))
                plan.identity = req.identity
                plan.template = template
                return try await manager.startRoomComposite(plan)
            }
            let plan = EgressManager.Plan(roomName: req.roomName, tracks: tracks, fileType: output.fileType,
                                          filepath: output.filepath, defaultName: Self.defaultParticipantName,
                                          template: template, identity: req.identity, request: .participant(req),
                                          audioCodec: req.advanced.audioCodec, upload: try Self.upload(output))
            return try await manager.start(plan)
        }
        r.register("StartTrackCompositeEgress", Livekit_TrackCompositeEgressRequest.self) { req, claims in
            try requireRecord(claims)
            try await requireRoom(req.roomName)
            let outputs = try EgressOutputs(req)
            let encoded = !outputs.streams.isEmpty || !outputs.segments.isEmpty
            let output: Livekit_EncodedFileOutput? = encoded ? nil : try Self.fileOutput(outputs)
            let published = await media.publishedTracks(room: req.roomName)
            var tracks: [EgressTrackSource] = []
            for (sid, kind) in [(req.videoTrackID, TrackKind.video), (req.audioTrackID, TrackKind.audio)] where !sid.isEmpty {
                guard let track = published.first(where: { $0.sid == sid }) else {
                    throw TwirpError(.notFound, "track \(sid) is not published in room \(req.roomName)")
                }
                guard track.kind == kind else {
                    throw TwirpError(.invalidArgument, "track \(sid) is \(track.kind.rawValue), not \(kind.rawValue)")
                }
                tracks.append(track)
            }
            guard !tracks.isEmpty else {
                throw TwirpError(.invalidArgument, "StartTrackCompositeEgress needs audio_track_id or video_track_id")
            }
            guard let output else {
                let options: Livekit_ParticipantEgressRequest.OneOf_Options? = switch req.options {
                case .preset(let preset)?: .preset(preset)
                case .advanced(let advanced)?: .advanced(advanced)
                case nil: nil
                }
                var plan = try Self.compositePlan(outputs, room: req.roomName, tracks: tracks, options: options,
                                                  defaultName: Self.defaultCompositeName, request: .trackComposite(req))
                plan.template.publisherIdentity = tracks[0].identity
                return try await manager.startRoomComposite(plan)
            }
            var plan = EgressManager.Plan(roomName: req.roomName, tracks: tracks, fileType: output.fileType,
                                          filepath: output.filepath, defaultName: Self.defaultCompositeName,
                                          template: FilenameTemplate(), identity: nil, request: .trackComposite(req))
            plan.template.publisherIdentity = tracks[0].identity
            plan.audioCodec = req.advanced.audioCodec
            plan.upload = try Self.upload(output)
            return try await manager.start(plan)
        }
        r.register("StartRoomCompositeEgress", Livekit_RoomCompositeEgressRequest.self) { req, claims in
            try requireRecord(claims)
            try await requireRoom(req.roomName)
            // A file, RTMP streams, HLS segments, or several (one encode feeds every output).
            let outputs = try EgressOutputs(req)
            let checked = try Self.compositeOutputs(outputs)
            var plan = EgressManager.CompositePlan(roomName: req.roomName, request: req,
                                                   fileType: checked.file?.fileType ?? .mp4,
                                                   filepath: checked.file?.filepath ?? "",
                                                   defaultName: Self.defaultCompositeName,
                                                   upload: nil)
            if let file = checked.file { plan.upload = try Self.upload(file) }
            plan.writesFile = checked.file != nil
            plan.streamURLs = checked.streamURLs
            plan.segments = checked.segments
            plan.segmentsUpload = checked.segmentsUpload
            return try await manager.startRoomComposite(plan)
        }
        r.register("StartWebEgress", Livekit_WebEgressRequest.self) { req, claims -> Livekit_EgressInfo in
            try requireRecord(claims)
            // The outputs are read first so a malformed request hears what is wrong with it.
            _ = try EgressOutputs(req)
            throw TwirpError(.unimplemented, "web egress needs a headless browser, which Sluice does not run; "
                             + "use StartRoomCompositeEgress to record a room")
        }
        refuse("StartEgress", Livekit_StartEgressRequest.self, in: &r,
               "StartEgress is not implemented; use StartParticipantEgress, StartTrackCompositeEgress or StartTrackEgress")
        r.register("UpdateLayout", Livekit_UpdateLayoutRequest.self) { req, claims in
            try requireRecord(claims)
            // Any name is a layout, as in LiveKit's template: an unknown one draws as a grid.
            return try await manager.updateLayout(req.egressID, to: RoomCompositeRequest.layout(req.layout),
                                                  named: req.layout)
        }
        r.register("UpdateStream", Livekit_UpdateStreamRequest.self) { req, claims -> Livekit_EgressInfo in
            try requireRecord(claims)
            // An unknown egress is not_found, as in LiveKit.
            guard req.addDestinations.isEmpty else {
                throw TwirpError(.unimplemented, "stream destinations are not implemented; give add_output_urls")
            }
            guard !req.addOutputUrls.isEmpty || !req.removeOutputUrls.isEmpty else {
                throw TwirpError(.invalidArgument, "UpdateStream needs add_output_urls or remove_output_urls")
            }
            try Self.checkRTMP(req.addOutputUrls)
            return try await manager.updateStream(req.egressID, add: req.addOutputUrls, remove: req.removeOutputUrls)
        }
        r.register("ListEgress", Livekit_ListEgressRequest.self) { req, claims in
            try requireRecord(claims)
            var res = Livekit_ListEgressResponse()
            res.items = try await manager.list(roomName: req.roomName.isEmpty ? nil : req.roomName,
                                               egressID: req.egressID.isEmpty ? nil : req.egressID,
                                               activeOnly: req.active)
            if let cluster, let shared = try? await cluster.listEgress() {
                let here = Set(res.items.map(\.egressID))
                res.items += shared.filter { info in
                    !here.contains(info.egressID)
                        && (req.roomName.isEmpty || info.roomName == req.roomName)
                        && (req.egressID.isEmpty || info.egressID == req.egressID)
                        && (!req.active || [.egressStarting, .egressActive, .egressEnding].contains(info.status))
                }
            }
            return res
        }
        r.register("StopEgress", Livekit_StopEgressRequest.self) { req, claims in
            try requireRecord(claims)
            return try await manager.stop(req.egressID)
        }
        return r
    }

    /// A method Sluice does not implement: 501 with what to use instead (after the grant check,
    /// so an unauthorised caller learns nothing more).
    private func refuse<Req: SwiftProtobuf.Message>(_ method: String, _ request: Req.Type, in router: inout TwirpRouter,
                                                    _ message: String) {
        router.register(method, request) { (_, claims) throws -> Livekit_EgressInfo in
            try requireRecord(claims)
            throw TwirpError(.unimplemented, message)
        }
    }

    private static let onlyFiles = TwirpError(.unimplemented, "only file outputs are implemented (no stream, segment or image outputs)")
    private static let noUploads = TwirpError(.unimplemented, "only S3 uploads are implemented (not GCP, Azure or OSS); "
                                              + "use s3 (S3-compatible storage: AWS, MinIO, R2, GCS interoperability)")

    /// The one file output of an encoded egress, after the legacy field and the lists are merged
    /// (see `EgressOutputs`): written into Sluice's recordings directory. Streams are taken by
    /// room composites only (`streamURLs`); here they answer 501.
    static func fileOutput(_ outputs: EgressOutputs) throws(TwirpError) -> Livekit_EncodedFileOutput {
        guard outputs.streams.isEmpty, outputs.segments.isEmpty, outputs.images.isEmpty else { throw onlyFiles }
        guard let output = outputs.files.first else { throw TwirpError(.invalidArgument, "a file output is required") }
        _ = try upload(output)
        return output
    }

    /// The RTMP URLs of a request's stream output (at most one, see `EgressOutputs`), checked:
    /// RTMP is the protocol Sluice streams (libavformat's FLV over its rtmp:// protocol); SRT and
    /// WebSocket answer 501.
    static func streamURLs(_ outputs: EgressOutputs) throws(TwirpError) -> [String] {
        guard let stream = outputs.streams.first else { return [] }
        switch stream.protocol {
        case .defaultProtocol, .rtmp: break
        default: throw TwirpError(.unimplemented, "only RTMP stream outputs are implemented, not \(stream.protocol)")
        }
        guard stream.destinations.isEmpty else {
            throw TwirpError(.unimplemented, "stream destinations are not implemented; give urls")
        }
        guard !stream.urls.isEmpty else { throw TwirpError(.invalidArgument, "a stream output needs at least one url") }
        try checkRTMP(stream.urls)
        return stream.urls
    }

    static func checkRTMP(_ urls: [String]) throws(TwirpError) {
        for url in urls where !(url.lowercased().hasPrefix("rtmp://") || url.lowercased().hasPrefix("rtmps://")) {
            throw TwirpError(.invalidArgument, "stream url \(StreamURL.redacted(url)) is not rtmp:// or rtmps://")
        }
    }

    /// The outputs the compositor writes, checked: at most one file, one stream output (RTMP) and
    /// one segmented output (HLS, uploaded to S3 or kept); image outputs answer 501.
    struct CompositeOutputs {
        var file: Livekit_EncodedFileOutput?
        var streamURLs: [String]
        var segments: Livekit_SegmentedFileOutput?
        var segmentsUpload: S3Destination?
    }

    static func compositeOutputs(_ outputs: EgressOutputs) throws(TwirpError) -> CompositeOutputs {
        guard outputs.images.isEmpty else { throw TwirpError(.unimplemented, "image outputs are not implemented") }
        let streamURLs = try streamURLs(outputs)
        let file = outputs.files.first
        if let file { _ = try upload(file) }
        var checked = CompositeOutputs(file: file, streamURLs: streamURLs, segments: outputs.segments.first)
        if let segments = checked.segments {
            switch segments.protocol {
            case .defaultSegmentedFileProtocol, .hlsProtocol, .hlsFmp4Protocol: break
            case .UNRECOGNIZED(let value): throw TwirpError(.invalidArgument, "segmented file protocol \(value) is not known")
            }
            switch segments.output {
            case nil: break
            case .s3(let s3)?:
                let destination = S3Destination(s3)
                if let problem = destination.problem { throw TwirpError(.invalidArgument, problem) }
                checked.segmentsUpload = destination
            default: throw noUploads
            }
        }
        guard file != nil || !streamURLs.isEmpty || checked.segments != nil else {
            throw TwirpError(.invalidArgument, "a file, stream or segments output is required")
        }
        return checked
    }

    /// A participant or track composite egress that streams or segments: the compositor with
    /// only `tracks`, one tile filling the canvas, at the request's preset or advanced options.
    static func compositePlan(_ outputs: EgressOutputs, room: String, tracks: [EgressTrackSource],
                              options: Livekit_ParticipantEgressRequest.OneOf_Options?, defaultName: String,
                              request: Livekit_EgressInfo.OneOf_Request) throws(TwirpError) -> EgressManager.CompositePlan {
        let checked = try compositeOutputs(outputs)
        var composite = Livekit_RoomCompositeEgressRequest()
        composite.roomName = room
        composite.layout = "grid"
        switch options {
        case .preset(let preset)?: composite.preset = preset
        case .advanced(let advanced)?: composite.advanced = advanced
        case nil: break
        }
        composite.audioOnly = !tracks.contains { $0.kind == .video }
        composite.videoOnly = !tracks.contains { $0.kind == .audio }
        var plan = EgressManager.CompositePlan(roomName: room, request: composite, fileType: checked.file?.fileType ?? .mp4,
                                               filepath: checked.file?.filepath ?? "", defaultName: defaultName,
                                               upload: nil)
        if let file = checked.file { plan.upload = try upload(file) }
        plan.writesFile = checked.file != nil
        plan.streamURLs = checked.streamURLs
        plan.segments = checked.segments
        plan.segmentsUpload = checked.segmentsUpload
        plan.onlyTracks = tracks
        plan.infoRequest = request
        return plan
    }

    /// A file output's upload: S3 (checked for what it needs), none, or 501 for the other stores.
    static func upload(_ output: Livekit_EncodedFileOutput) throws(TwirpError) -> S3Destination? {
        switch output.output {
        case nil: return nil
        case .s3(let s3)?:
            let destination = S3Destination(s3)
            if let problem = destination.problem { throw TwirpError(.invalidArgument, problem) }
            return destination
        default: throw noUploads
        }
    }

    private func requireRecord(_ claims: AccessTokenClaims) throws(TwirpError) {
        guard claims.grant.mayRecord else { throw TwirpError(.permissionDenied, "access token lacks the roomRecord grant") }
    }

    private func requireRoom(_ name: String) async throws(TwirpError) {
        guard !name.isEmpty else { throw TwirpError(.invalidArgument, "room_name is required") }
        guard await rooms.room(named: name) != nil else { throw TwirpError(.notFound, "room \(name) does not exist") }
    }

    /// Fills a track egress's template values ({publisher_identity}, {track_*}).
    private func describe(_ track: EgressTrackSource, in template: inout FilenameTemplate, room: String) async {
        template.publisherIdentity = track.identity
        template.trackID = track.sid
        template.trackType = track.kind.rawValue
        let info = try? await rooms.participant(roomName: room, identity: track.identity)
        let source = info?.tracks.first { $0.sid == track.sid }?.source ?? .unknown
        template.trackSource = switch source {
        case .camera: "camera"
        case .microphone: "microphone"
        case .screenShare: "screen_share"
        case .screenShareAudio: "screen_share_audio"
        default: "unknown"
        }
    }
}
