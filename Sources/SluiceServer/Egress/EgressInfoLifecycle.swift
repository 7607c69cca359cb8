import Egress
import Foundation
import LiveKitProto

/// The steps of an egress's life as LiveKit reports them in `EgressInfo`:
/// STARTING (accepted) -> ACTIVE (first frame in the file) -> ENDING (stop asked) -> COMPLETE,
/// or FAILED with `error` from any step. Times are Unix nanoseconds; every step sets `updated_at`.
extension Livekit_EgressInfo {
    /// Still recording or about to: what ListEgress's `active` filter keeps.
    var isLive: Bool {
        switch status {
        case .egressStarting, .egressActive, .egressEnding: true
        default: false
        }
    }

    static let liveStatuses: Set<Int> = [
        Livekit_EgressStatus.egressStarting.rawValue, Livekit_EgressStatus.egressActive.rawValue,
        Livekit_EgressStatus.egressEnding.rawValue,
    ]

    /// A new egress writing `filename`.
    static func starting(id: String, roomID: String, roomName: String, filename: String?,
                         request: OneOf_Request, at now: Int64) -> Livekit_EgressInfo {
        var info = Livekit_EgressInfo()
        info.egressID = id
        info.roomID = roomID
        info.roomName = roomName
        info.sourceType = .sdk  // recorded from the tracks, not by a browser
        info.status = .egressStarting
        info.request = request.redactingCredentials()
        info.updatedAt = now
        if let filename {
            info.fileResults = [Livekit_FileInfo.with {
                $0.filename = filename
                $0.location = filename
            }]
        }
        return info
    }

    /// The stream outputs, ACTIVE from the start as LiveKit lists them; URLs with the stream key
    /// redacted (`StreamURL`), as LiveKit's egress shows them, here and in the request kept.
    mutating func startStreams(_ urls: [String]) {
        streamResults = urls.map { url in Livekit_StreamInfo.with {
            $0.url = StreamURL.redacted(url)
            $0.status = .active
        } }
        func redacted(_ streams: [Livekit_StreamOutput]) -> [Livekit_StreamOutput] {
            streams.map { stream in
                var copy = stream
                copy.urls = stream.urls.map(StreamURL.redacted)
                return copy
            }
        }
        switch request {
        case .roomComposite(var req)?:
            req.streamOutputs = redacted(req.streamOutputs)
            if case .stream(var stream)? = req.output {
                stream.urls = stream.urls.map(StreamURL.redacted)
                req.output = .stream(stream)
            }
            request = .roomComposite(req)
        case .participant(var req)?:
            req.streamOutputs = redacted(req.streamOutputs)
            request = .participant(req)
        case .trackComposite(var req)?:
            req.streamOutputs = redacted(req.streamOutputs)
            if case .stream(var stream)? = req.output {
                stream.urls = stream.urls.map(StreamURL.redacted)
                req.output = .stream(stream)
            }
            request = .trackComposite(req)
        default:
            break
        }
    }

    /// The segmented output: its playlists' names (paths under the recordings directory, as the
    /// object keys will be), filled in as the recording ends.
    mutating func startSegments(playlist: String, livePlaylist: String?) {
        segmentResults = [Livekit_SegmentsInfo.with {
            $0.playlistName = playlist
            $0.livePlaylistName = livePlaylist ?? ""
        }]
    }

    /// The playlists are in object storage: their URLs, as LiveKit reports uploads.
    mutating func markSegmentsUploaded(playlist: String, livePlaylist: String?) {
        guard var segments = segmentResults.first else { return }
        segments.playlistLocation = playlist
        if let livePlaylist { segments.livePlaylistLocation = livePlaylist }
        segmentResults = [segments]
    }

    /// Each stream still ACTIVE as it ended: FINISHED, or FAILED with why (it could not connect,
    /// or dropped). Streams are matched by URL (shown redacted), the newest entry of a URL first:
    /// UpdateStream may have added some, and one removed and added again has two entries.
    mutating func endStreams(_ results: [StreamResult], at now: Int64) {
        for result in results {
            let shown = StreamURL.redacted(result.url)
            guard let index = streamResults.lastIndex(where: { $0.url == shown && $0.status == .active }) else { continue }
            var stream = streamResults[index]
            if stream.startedAt == 0 { stream.startedAt = result.startedAtNanoseconds ?? 0 }
            stream.endedAt = result.endedAtNanoseconds ?? now
            if stream.startedAt > 0 { stream.duration = stream.endedAt - stream.startedAt }
            if let failure = result.failure {
                stream.status = .failed
                stream.error = failure.streamReason
            } else {
                stream.status = .finished
            }
            streamResults[index] = stream
        }
    }

    /// The first frame is in the file.
    mutating func markActive(at now: Int64) {
        guard status == .egressStarting else { return }
        status = .egressActive
        startedAt = now
        updatedAt = now
    }

    /// A stop was asked (API, room emptied, track gone); the file is being closed.
    mutating func markEnding(at now: Int64) {
        guard isLive else { return }
        status = .egressEnding
        updatedAt = now
    }

    /// The file is closed and complete.
    mutating func markComplete(_ result: RecordingResult, at now: Int64) {
        status = .egressComplete
        if startedAt == 0 { startedAt = result.startedAtNanoseconds }
        endedAt = now
        updatedAt = now
        endStreams(result.streams, at: now)
        // Streams the recorder did not report (none written, or a test's media plane) end with it:
        // FINISHED, or FAILED when it was still being retried after a failure (its error says which).
        for index in streamResults.indices where streamResults[index].status == .active {
            streamResults[index].status = streamResults[index].error.isEmpty ? .finished : .failed
            streamResults[index].endedAt = now
            if streamResults[index].startedAt > 0 { streamResults[index].duration = now - streamResults[index].startedAt }
        }
        if let segments = result.segments, var info = segmentResults.first {
            info.duration = segments.durationNanoseconds
            info.size = segments.sizeBytes
            info.segmentCount = Int64(segments.segmentCount)
            info.playlistLocation = segments.playlistPath
            info.livePlaylistLocation = segments.livePlaylistPath ?? ""
            info.startedAt = result.startedAtNanoseconds
            info.endedAt = result.endedAtNanoseconds
            segmentResults = [info]
        }
        // A stream-only composite has no file to report.
        guard !result.filename.isEmpty else { return }
        setFile(Livekit_FileInfo.with {
            $0.filename = result.filename
            $0.location = result.filename
            $0.size = result.sizeBytes
            $0.duration = result.durationNanoseconds
            $0.startedAt = result.startedAtNanoseconds
            $0.endedAt = result.endedAtNanoseconds
        })
    }

    /// The closed file is in object storage: `filename` is its key, `location` its URL (as LiveKit reports uploads).
    mutating func markUploaded(key: String, location: String) {
        guard var file = fileResults.first else { return }
        file.filename = key
        file.location = location
        setFile(file)
    }

    /// The recording failed (or the server stopped under it). What reached the disk stays, and
    /// `file_results` reports its size: fragmented MP4 and WebM play up to the last fragment.
    mutating func markFailed(_ reason: String, at now: Int64) {
        status = .egressFailed
        error = reason
        endedAt = now
        updatedAt = now
        for index in streamResults.indices where streamResults[index].status == .active {
            streamResults[index].status = .failed
            streamResults[index].error = reason
            streamResults[index].endedAt = now
        }
        if var file = fileResults.first {
            let size = (try? FileManager.default.attributesOfItem(atPath: file.filename)[.size] as? NSNumber)?.int64Value
            file.size = size ?? 0
            if file.startedAt == 0 { file.startedAt = startedAt }
            file.endedAt = now
            setFile(file)
        }
    }

    private mutating func setFile(_ file: Livekit_FileInfo) {
        fileResults = [file]
    }
}

/// Credentials in a request's uploads are replaced by placeholders before the request is kept in
/// `EgressInfo`, as LiveKit's egress does (`{access_key}`, `{secret}`): EgressInfo is stored in
/// SQLite, answered by ListEgress and sent in webhooks, none of which should carry keys.
extension Livekit_EgressInfo.OneOf_Request {
    func redactingCredentials() -> Self {
        switch self {
        case .track(var req):
            if case .file(var file)? = req.output, case .s3(let s3)? = file.output {
                file.output = .s3(s3.redacted())
                req.output = .file(file)
            }
            return .track(req)
        case .participant(var req):
            req.fileOutputs = req.fileOutputs.map { $0.redacted() }
            req.segmentOutputs = req.segmentOutputs.map { $0.redacted() }
            return .participant(req)
        case .trackComposite(var req):
            req.fileOutputs = req.fileOutputs.map { $0.redacted() }
            req.segmentOutputs = req.segmentOutputs.map { $0.redacted() }
            if case .file(let file)? = req.output { req.output = .file(file.redacted()) }
            if case .segments(let segments)? = req.output { req.output = .segments(segments.redacted()) }
            return .trackComposite(req)
        case .roomComposite(var req):
            req.fileOutputs = req.fileOutputs.map { $0.redacted() }
            req.segmentOutputs = req.segmentOutputs.map { $0.redacted() }
            if case .file(let file)? = req.output { req.output = .file(file.redacted()) }
            if case .segments(let segments)? = req.output { req.output = .segments(segments.redacted()) }
            return .roomComposite(req)
        default:
            return self
        }
    }
}

extension Livekit_EncodedFileOutput {
    func redacted() -> Self {
        guard case .s3(let s3)? = output else { return self }
        var copy = self
        copy.output = .s3(s3.redacted())
        return copy
    }
}

extension Livekit_SegmentedFileOutput {
    func redacted() -> Self {
        guard case .s3(let s3)? = output else { return self }
        var copy = self
        copy.output = .s3(s3.redacted())
        return copy
    }
}

extension Livekit_S3Upload {
    func redacted() -> Self {
        var copy = self
        if !accessKey.isEmpty { copy.accessKey = "{access_key}" }
        if !secret.isEmpty { copy.secret = "{secret}" }
        if !sessionToken.isEmpty { copy.sessionToken = "{session_token}" }
        if !assumeRoleExternalID.isEmpty { copy.assumeRoleExternalID = "{external_id}" }
        return copy
    }
}
