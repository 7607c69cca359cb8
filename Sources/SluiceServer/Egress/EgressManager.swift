import Egress
import Foundation
import LiveKitProto
import Logging
import SFU
import Signal
import Store

/// The built-in recording egress's control plane: accepts Start requests, decides what goes in
/// which file, runs each recording through its lifecycle (see `EgressInfoLifecycle`), persists
/// every step so ListEgress answers from history after a restart, sends the egress webhooks,
/// and ends recordings by itself as LiveKit does — when the recorded tracks are unpublished,
/// the recorded participant leaves, or the room empties or closes.
///
/// Requests that cannot work are refused before anything is created (Twirp 400/404/501); a
/// recording that fails once accepted (unwritable directory, disk full) becomes a FAILED egress
/// with the reason, and the media path carries on.
actor EgressManager {
    /// What a Start request resolved to.
    struct Plan: Sendable {
        var roomName: String
        var tracks: [EgressTrackSource]
        var fileType: Livekit_EncodedFileType?
        var filepath: String
        var defaultName: String
        var template: FilenameTemplate
        var identity: String?
        var request: Livekit_EgressInfo.OneOf_Request
        /// `EncodingOptions.audio_codec` of the request: Opus is transcoded to AAC or MP3 when asked.
        var audioCodec: Livekit_AudioCodec = .defaultAc
        /// The request's S3 upload; nil takes the server's `recordings.s3` default, if any.
        var upload: S3Destination?
    }

    /// Where finished recordings are uploaded when their request names no upload, and how.
    struct Uploads: Sendable {
        var defaultDestination: S3Destination?
        var client = S3Client(settings: .init())
    }

    private struct Live {
        var info: Livekit_EgressInfo
        var control: (any EgressRecordingControl)?
        /// Recorded tracks still published; the egress completes when none is left.
        var remainingTracks: Set<String>
        /// The recorded participant (participant egress): its leaving ends the egress.
        var identity: String?
        /// Set when a stop arrived before the recording had started.
        var stopRequested = false
        /// Where the closed file goes, and its object key (its path under the recordings directory).
        var upload: (destination: S3Destination, key: String)?
        /// Where the playlist and segments go once closed (keys: their paths under the recordings directory).
        var segmentsUpload: S3Destination?
        /// The stream URLs as given (with their keys), live or not: UpdateStream and retries use them.
        var streamURLs: [String] = []
        /// Reconnections tried per stream URL since it last connected.
        var streamRetries: [String: Int] = [:]
        /// The egress encodes H.264 + AAC, so streams can be added to it.
        var streamable = false
        /// Set when a session limit ended it: it ends EGRESS_LIMIT_REACHED, with this in `details`.
        var limitReached: String?
        var ending: Task<Livekit_EgressInfo, Never>?
        /// Done when the file is closed (before any upload).
        var closing: Task<Void, Never>?
    }

    private let store: SluiceStore
    private let rooms: RoomManager
    private let media: any EgressMediaPlane
    private let webhooks: WebhookNotifier?
    private let recordingsPath: String
    private let uploads: Uploads
    private let limits: ServerConfig.RecordingLimits
    private let logger: Logger
    private let nowNanoseconds: @Sendable () -> Int64
    private var live: [String: Live] = [:]
    /// Store writes, chained so that the steps of one egress land in order.
    private var persisting: Task<Void, Never>?
    /// Webhooks, chained likewise: egress_started before egress_updated before egress_ended.
    private var notifying: Task<Void, Never>?
    /// In a cluster: writes each egress's state to the shared state, in order (see `shareState`).
    private var sharer: (@Sendable (Livekit_EgressInfo) async -> Void)?
    private var sharing: Task<Void, Never>?

    /// Every later state of every egress also goes to `writer` (the cluster's shared state), so
    /// any node lists it and a reaper can fail it if this node dies.
    func shareState(with writer: @escaping @Sendable (Livekit_EgressInfo) async -> Void) {
        sharer = writer
    }

    init(store: SluiceStore, rooms: RoomManager, media: any EgressMediaPlane, webhooks: WebhookNotifier?,
         recordingsPath: String, uploads: Uploads = Uploads(), limits: ServerConfig.RecordingLimits = .init(),
         logger: Logger,
         nowNanoseconds: @escaping @Sendable () -> Int64 = { FileRecorder.unixNanoseconds() }) {
        self.store = store
        self.rooms = rooms
        self.media = media
        self.webhooks = webhooks
        self.recordingsPath = recordingsPath
        self.uploads = uploads
        self.limits = limits
        self.logger = logger
        self.nowNanoseconds = nowNanoseconds
    }

    // MARK: Start and stop

    /// Marks egresses that were live when the server last stopped as FAILED ("server
    /// restarted"): nothing records them any more. Their files stay and play up to the last
    /// fragment written. Call once at start, before serving requests.
    func recoverInterrupted() async {
        let stale: [EgressRecord]
        do {
            stale = try await store.egresses(statuses: Livekit_EgressInfo.liveStatuses)
        } catch {
            logger.error("reading interrupted egresses failed", metadata: ["error": "\(error)"])
            return
        }
        for record in stale {
            guard var info = try? Livekit_EgressInfo(serializedBytes: record.info) else { continue }
            info.markFailed("server restarted", at: nowNanoseconds())
            persist(info)
            notify("egress_ended", info)
            logger.warning("egress interrupted by a restart", metadata: ["egress": "\(info.egressID)"])
        }
        await flush()
    }

    /// Follows room events for auto-stop.
    func observeRooms() async {
        await rooms.observe { [weak self] event in
            guard let self else { return }
            Task { await self.handle(event) }
        }
    }

    /// Starts the recording a Start request resolved to. Returns its EgressInfo: STARTING, or
    /// FAILED with the reason when the file could not be opened.
    func start(_ plan: Plan) async throws(TwirpError) -> Livekit_EgressInfo {
        guard let room = await rooms.room(named: plan.roomName) else {
            throw TwirpError(.notFound, "room \(plan.roomName) does not exist")
        }
        var codecs: [RecordingCodec] = []
        for track in plan.tracks {
            guard let codec = RecordingCodec(name: track.codec.name) else {
                throw TwirpError(.invalidArgument, "track \(track.sid) uses codec \(track.codec.name), which cannot be recorded")
            }
            codecs.append(codec)
        }
        var template = plan.template
        template.roomName = room.name
        template.roomID = room.sid
        let path: String
        let choice: EgressContainerChoice
        do {
            let resolved = try EgressOutputPath.resolve(template.expand(plan.filepath), under: recordingsPath,
                                                        defaultName: template.expand(plan.defaultName))
            choice = try EgressContainerChoice.choose(fileType: plan.fileType, path: resolved, codecs: codecs,
                                                      audioCodec: plan.audioCodec)
            path = choice.path(resolved)
        } catch let error as EgressOutputPath.Failure {
            throw TwirpError(.invalidArgument, error.description)
        } catch let error as EgressContainerChoice.Failure {
            if case .unsupportedFileType = error { throw TwirpError(.unimplemented, error.description) }
            throw TwirpError(.invalidArgument, error.description)
        } catch {
            throw TwirpError(.internalError, "\(error)")
        }
        let tracks = choice.included.map { plan.tracks[$0] }
        let upload = try uploadTarget(plan.upload, path: path)
        let id = SessionID.egress()
        let info = Livekit_EgressInfo.starting(id: id, roomID: room.sid, roomName: room.name, filename: path,
                                               request: plan.request, at: nowNanoseconds())
        live[id] = Live(info: info, remainingTracks: Set(tracks.map(\.sid)), identity: plan.identity, upload: upload)
        persist(info)
        notify("egress_started", info)
        logger.info("egress starting", metadata: ["egress": "\(id)", "room": "\(room.name)", "file": "\(path)",
                                                  "tracks": "\(tracks.map { "\($0.sid) \($0.codec.name)" })"])
        return await launch(id, info) { onActive, onFailure throws(RecordingError) in
            try await media.startRecording(room: room.name, tracks: tracks, path: path, container: choice.container,
                                           audioCodec: choice.audioCodec, onActive: onActive, onFailure: onFailure)
        }
    }

    /// Starts the media side of egress `id` (already STARTING, live and announced): on success
    /// keeps its control (ending it at once if a stop came meanwhile); on failure marks it FAILED.
    private func launch(
        _ id: String, _ starting: Livekit_EgressInfo,
        _ startMedia: (_ onActive: @escaping @Sendable () -> Void,
                       _ onFailure: @escaping @Sendable (RecordingError) -> Void) async throws(RecordingError)
            -> any EgressRecordingControl
    ) async -> Livekit_EgressInfo {
        do {
            let control = try await startMedia(
                { [weak self] in Task { await self?.recordingActive(id) } },
                { [weak self] error in Task { await self?.recordingFailed(id, error) } })
            guard var entry = live[id] else { return starting }
            entry.control = control
            live[id] = entry
            if entry.stopRequested { return await end(id) }
            return entry.info
        } catch {
            live[id] = nil
            var info = starting
            info.markFailed(error.reason, at: nowNanoseconds())
            endedByStatus["\(info.status)", default: 0] += 1
            persist(info)
            notify("egress_ended", info)
            logger.error("egress failed to start", metadata: ["egress": "\(id)", "error": "\(error.reason)"])
            return info
        }
    }

    /// StopEgress: ends a live egress and returns its final info (COMPLETE, or FAILED); one that
    /// uploads answers ENDING once its file is closed, as LiveKit's does, and completes when the
    /// storage has the object (ListEgress and the egress_ended webhook tell).
    func stop(_ id: String) async throws(TwirpError) -> Livekit_EgressInfo {
        logger.info("egress stop requested", metadata: ["egress": "\(id)", "live": "\(live[id] != nil)"])
        if live[id] != nil { return await end(id, untilUploaded: false) }
        let stored: [EgressRecord]
        do {
            stored = try await store.egresses(egressID: id)
        } catch {
            throw TwirpError(.internalError, "reading egress \(id) failed: \(error)")
        }
        guard let record = stored.first, let info = try? Livekit_EgressInfo(serializedBytes: record.info) else {
            throw TwirpError(.notFound, "egress \(id) does not exist")
        }
        throw TwirpError(.failedPrecondition, "egress \(id) is not active (status \(info.status))")
    }

    /// Ends every live egress (graceful shutdown): each closes its file and becomes COMPLETE.
    func stopAll() async {
        await withTaskGroup(of: Void.self) { group in
            for id in live.keys {
                group.addTask { _ = await self.end(id) }
            }
        }
        await flush()
    }

    /// ListEgress: from the store (history survives restarts), with live egresses' latest state.
    func list(roomName: String?, egressID: String?, activeOnly: Bool) async throws(TwirpError) -> [Livekit_EgressInfo] {
        let records: [EgressRecord]
        do {
            records = try await store.egresses(roomName: roomName, egressID: egressID,
                                               statuses: activeOnly ? Livekit_EgressInfo.liveStatuses : nil)
        } catch {
            throw TwirpError(.internalError, "reading egresses failed: \(error)")
        }
        var infos = records.compactMap { try? Livekit_EgressInfo(serializedBytes: $0.info) }
        for entry in live.values.sorted(by: { $0.info.updatedAt < $1.info.updatedAt }) {
            let info = entry.info
            if let roomName, info.roomName != roomName { continue }
            if let egressID, info.egressID != egressID { continue }
            if let index = infos.firstIndex(where: { $0.egressID == info.egressID }) {
                infos[index] = info
            } else {
                infos.append(info)
            }
        }
        return activeOnly ? infos.filter(\.isLive) : infos
    }

    /// Waits until every state change so far is in the store.
    func flush() async {
        await persisting?.value
    }

    /// The live egress ids (for tests and metrics).
    var liveEgressIDs: [String] { Array(live.keys) }

    /// Recordings ended since start, by final status (egressComplete, egressFailed), for metrics.
    private(set) var endedByStatus: [String: Int] = [:]

    /// Recordings in progress by status name (EGRESS_STARTING, EGRESS_ACTIVE, EGRESS_ENDING), for metrics.
    var liveStatusCounts: [String: Int] {
        var counts: [String: Int] = [:]
        for entry in live.values { counts[String(describing: entry.info.status), default: 0] += 1 }
        return counts
    }

    // MARK: Auto-stop

    func handle(_ event: RoomEvent) async {
        var ending: [String] = []
        switch event {
        case .trackUnpublished(let room, _, let track):
            for (id, var entry) in live where entry.info.roomName == room.name && entry.remainingTracks.contains(track.sid) {
                entry.remainingTracks.remove(track.sid)
                live[id] = entry
                if entry.remainingTracks.isEmpty { ending.append(id) }
            }
        case .participantLeft(let room, let participant):
            for (id, entry) in live where entry.info.roomName == room.name {
                if room.numParticipants == 0 || entry.identity == participant.identity { ending.append(id) }
            }
        case .finished(let room):
            ending = live.filter { $0.value.info.roomName == room.name }.map(\.key)
        case .trackPublished(let room, _, let track):
            noteScreenShare(track, room: room.name)
            return
        case .started, .participantJoined:
            return
        }
        for id in ending {
            logger.info("egress ends by itself", metadata: ["egress": "\(id)", "event": "\(Self.name(of: event))"])
            Task { _ = await self.end(id) }
        }
    }

    private static func name(of event: RoomEvent) -> String {
        switch event {
        case .trackUnpublished: "track unpublished"
        case .participantLeft: "participant left"
        case .finished: "room finished"
        default: "room event"
        }
    }

    // MARK: From the recordings

    func recordingActive(_ id: String) {
        guard var entry = live[id], entry.info.status == .egressStarting else { return }
        entry.info.markActive(at: nowNanoseconds())
        live[id] = entry
        persist(entry.info)
        notify("egress_updated", entry.info)
        logger.info("egress active", metadata: ["egress": "\(id)"])
        watchLimits(id, entry.info)
    }

    // MARK: Session limits

    /// Ends the egress LIMIT_REACHED when it has run as long as the shortest limit of its outputs
    /// (`recordings.session_limits`, as LiveKit egress's), or its file has grown past the size limit.
    private func watchLimits(_ id: String, _ info: Livekit_EgressInfo) {
        var seconds: [Double] = []
        if !info.fileResults.isEmpty { seconds.append(limits.fileOutputMaxSeconds) }
        if !info.streamResults.isEmpty { seconds.append(limits.streamOutputMaxSeconds) }
        if !info.segmentResults.isEmpty { seconds.append(limits.segmentOutputMaxSeconds) }
        if let limit = seconds.filter({ $0 > 0 }).min() {
            Task { [weak self] in
                try? await Task.sleep(nanoseconds: UInt64(limit * 1e9))
                await self?.limitReached(id, "session limit reached: \(Self.format(seconds: limit)) of recording")
            }
        }
        if limits.fileOutputMaxSize > 0, let path = info.fileResults.first?.filename {
            let maxSize = limits.fileOutputMaxSize
            Task { [weak self] in
                while let self, await self.isRunning(id) {
                    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
                    if size >= maxSize {
                        await self.limitReached(id, "session limit reached: the file reached \(size) bytes (limit \(maxSize))")
                        return
                    }
                    try? await Task.sleep(nanoseconds: 250_000_000)
                }
            }
        }
    }

    private func isRunning(_ id: String) -> Bool {
        guard let entry = live[id] else { return false }
        return entry.ending == nil
    }

    private func limitReached(_ id: String, _ reason: String) {
        guard var entry = live[id], entry.ending == nil, entry.limitReached == nil else { return }
        entry.limitReached = reason
        live[id] = entry
        logger.warning("egress reached a session limit", metadata: ["egress": "\(id)", "limit": "\(reason)"])
        Task { _ = await self.end(id) }
    }

    private static func format(seconds: Double) -> String {
        seconds.truncatingRemainder(dividingBy: 1) == 0 ? "\(Int(seconds)) s" : String(format: "%.3f s", seconds)
    }

    /// One stream output of a live egress failed while the others go on: its StreamInfo turns
    /// FAILED with the reason (ListEgress, `egress_updated`), as LiveKit reports it.
    /// Before that, a stream that drops (or cannot connect) is tried again `streamRetryLimit`
    /// times, a quarter second, half a second, a second apart: its StreamInfo stays ACTIVE with
    /// `retries`, `last_retry_at` and the last error meanwhile.
    func streamFailed(_ id: String, url: String, _ error: RecordingError) {
        guard var entry = live[id] else { return }
        let shown = StreamURL.redacted(url)
        guard let index = entry.info.streamResults.lastIndex(where: { $0.url == shown && $0.status == .active }) else { return }
        let now = nowNanoseconds()
        let attempts = entry.streamRetries[url, default: 0]
        if attempts < Self.streamRetryLimit, entry.ending == nil, entry.streamURLs.contains(url) {
            entry.streamRetries[url] = attempts + 1
            entry.info.streamResults[index].retries += 1
            entry.info.streamResults[index].lastRetryAt = now
            entry.info.streamResults[index].error = error.streamReason
            entry.info.updatedAt = now
            live[id] = entry
            persist(entry.info)
            logger.warning("egress stream lost, retrying", metadata: [
                "egress": "\(id)", "url": "\(shown)", "attempt": "\(attempts + 1)", "error": "\(error.streamReason)"])
            let delay = UInt64(250_000_000) << UInt64(attempts)
            Task { [weak self] in
                try? await Task.sleep(nanoseconds: delay)
                await self?.retryStream(id, url: url)
            }
            return
        }
        entry.info.streamResults[index].status = .failed
        entry.info.streamResults[index].error = error.streamReason
        entry.info.streamResults[index].endedAt = now
        // Streams given at the start began with the egress.
        if entry.info.streamResults[index].startedAt == 0 { entry.info.streamResults[index].startedAt = entry.info.startedAt }
        if entry.info.streamResults[index].startedAt > 0 {
            entry.info.streamResults[index].duration = now - entry.info.streamResults[index].startedAt
        }
        entry.info.updatedAt = now
        live[id] = entry
        persist(entry.info)
        notify("egress_updated", entry.info)
        logger.warning("egress stream failed", metadata: ["egress": "\(id)", "url": "\(shown)", "error": "\(error.streamReason)"])
    }

    static let streamRetryLimit = 3

    /// One reconnection of a dropped stream; failing, it counts as the next failure.
    private func retryStream(_ id: String, url: String) async {
        guard let entry = live[id], entry.ending == nil, entry.streamURLs.contains(url) else { return }
        guard let control = entry.control as? any EgressCompositeControl else {
            streamFailed(id, url: url, .muxerSetupFailed("the egress has no running composite to stream from"))
            return
        }
        do throws(RecordingError) {
            try await control.addStream(url)
        } catch {
            streamFailed(id, url: url, error)
            return
        }
        guard var entry = live[id] else { return }
        entry.streamRetries[url] = 0
        let shown = StreamURL.redacted(url)
        if let index = entry.info.streamResults.lastIndex(where: { $0.url == shown && $0.status == .active }) {
            entry.info.streamResults[index].error = ""
        }
        live[id] = entry
        persist(entry.info)
        logger.info("egress stream reconnected", metadata: ["egress": "\(id)", "url": "\(shown)"])
    }

    /// UpdateStream: streams `add` from the next keyframe on and stops streaming to `remove`,
    /// while the egress runs. Each added URL gets a StreamInfo, ACTIVE (or FAILED when it cannot
    /// connect, after the retries); each removed one turns FINISHED.
    func updateStream(_ id: String, add: [String], remove: [String]) async throws(TwirpError) -> Livekit_EgressInfo {
        guard let entry = live[id] else {
            let stored = try? await store.egresses(egressID: id)
            guard let record = stored?.first, let info = try? Livekit_EgressInfo(serializedBytes: record.info) else {
                throw TwirpError(.notFound, "egress \(id) not found")
            }
            throw TwirpError(.failedPrecondition, "egress \(id) is not active (status \(info.status))")
        }
        guard entry.streamable else {
            throw TwirpError(.invalidArgument, "egress \(id) does not encode H.264 + AAC, so it cannot stream; "
                             + "streams go with room composite, participant and track composite egress written as MP4, HLS or RTMP")
        }
        guard entry.ending == nil, entry.info.isLive, let control = entry.control as? any EgressCompositeControl else {
            throw TwirpError(.failedPrecondition, "egress \(id) is not running (status \(entry.info.status))")
        }
        let activeShown = Set(entry.info.streamResults.filter { $0.status == .active }.map(\.url))
        for url in remove where !(entry.streamURLs.contains(url) && activeShown.contains(StreamURL.redacted(url))) {
            throw TwirpError(.invalidArgument, "stream url \(StreamURL.redacted(url)) is not being streamed by egress \(id)")
        }
        for url in add where entry.streamURLs.contains(url) && activeShown.contains(StreamURL.redacted(url)) {
            throw TwirpError(.invalidArgument, "stream url \(StreamURL.redacted(url)) is already streamed by egress \(id)")
        }
        let others = entry.info.fileResults.count + entry.info.segmentResults.count
        if others == 0, add.isEmpty, activeShown.count <= Set(remove.map(StreamURL.redacted)).count {
            throw TwirpError(.failedPrecondition, "removing every stream would leave egress \(id) with no output; use StopEgress")
        }
        for url in remove {
            _ = await control.removeStream(url)
            guard var entry = live[id] else { break }
            entry.streamURLs.removeAll { $0 == url }
            let shown = StreamURL.redacted(url)
            if let index = entry.info.streamResults.lastIndex(where: { $0.url == shown && $0.status == .active }) {
                let now = nowNanoseconds()
                entry.info.streamResults[index].status = .finished
                entry.info.streamResults[index].endedAt = now
                if entry.info.streamResults[index].startedAt > 0 {
                    entry.info.streamResults[index].duration = now - entry.info.streamResults[index].startedAt
                }
            }
            live[id] = entry
            logger.info("egress stream removed", metadata: ["egress": "\(id)", "url": "\(shown)"])
        }
        for url in add {
            guard var entry = live[id] else { break }
            entry.streamURLs.append(url)
            entry.streamRetries[url] = 0
            entry.info.streamResults.append(Livekit_StreamInfo.with {
                $0.url = StreamURL.redacted(url)
                $0.status = .active
                $0.startedAt = nowNanoseconds()
            })
            live[id] = entry
            do throws(RecordingError) {
                try await control.addStream(url)
                logger.info("egress stream added", metadata: ["egress": "\(id)", "url": "\(StreamURL.redacted(url))"])
            } catch {
                streamFailed(id, url: url, error)
            }
        }
        guard var entry = live[id] else {
            return (try? await list(roomName: nil, egressID: id, activeOnly: false).first) ?? Livekit_EgressInfo()
        }
        entry.info.updatedAt = nowNanoseconds()
        live[id] = entry
        persist(entry.info)
        notify("egress_updated", entry.info)
        return entry.info
    }

    func recordingFailed(_ id: String, _ error: RecordingError) async {
        logger.error("egress recording failed", metadata: ["egress": "\(id)", "error": "\(error.reason)"])
        _ = await end(id, failure: error.reason)
    }

    // MARK: Ending

    /// ENDING, then the file is closed (and uploaded): COMPLETE, or FAILED with `failure`, the
    /// close's or the upload's error. Concurrent callers share one ending. With `untilUploaded`
    /// false, an egress that uploads returns its ENDING info once the file is closed (the upload
    /// can take minutes; a StopEgress caller should not wait for it).
    private func end(_ id: String, failure: String? = nil, untilUploaded: Bool = true) async -> Livekit_EgressInfo {
        guard var entry = live[id] else {
            return (try? await list(roomName: nil, egressID: id, activeOnly: false).first) ?? Livekit_EgressInfo()
        }
        if let ending = entry.ending { return await waitForEnd(id, ending: ending, closing: entry.closing, untilUploaded) }
        guard let control = entry.control else {
            entry.stopRequested = true
            live[id] = entry
            return entry.info
        }
        entry.info.markEnding(at: nowNanoseconds())
        persist(entry.info)
        notify("egress_updated", entry.info)
        let upload = entry.upload, segmentsUpload = entry.segmentsUpload
        let finishing = Task { await control.finish() }
        let closing = Task<Void, Never> { _ = await finishing.value }
        let ending = Task<Livekit_EgressInfo, Never> {
            let result = await finishing.value
            // The egress stays ENDING while the closed file is uploaded; only a whole recording goes up.
            guard case .success(let recording) = result, failure == nil,
                  upload != nil || (segmentsUpload != nil && recording.segments != nil) else {
                return self.ended(id, result: result, failure: failure)
            }
            var uploaded: Result<(key: String, location: String), S3Client.Failure>?
            if let upload {
                uploaded = await self.upload(recording.filename, as: upload.key, to: upload.destination, egress: id)
                    .map { (upload.key, $0) }
            }
            var segmentsUploaded: Result<SegmentsLocations, S3Client.Failure>?
            if let segmentsUpload, let segments = recording.segments, (try? uploaded?.get()) != nil || uploaded == nil {
                segmentsUploaded = await self.uploadSegments(segments, to: segmentsUpload, egress: id)
            }
            return self.ended(id, result: result, failure: nil, uploaded: uploaded, segmentsUploaded: segmentsUploaded)
        }
        entry.ending = ending
        entry.closing = upload == nil && segmentsUpload == nil ? nil : closing
        live[id] = entry
        return await waitForEnd(id, ending: ending, closing: entry.closing, untilUploaded)
    }

    private func waitForEnd(_ id: String, ending: Task<Livekit_EgressInfo, Never>, closing: Task<Void, Never>?,
                            _ untilUploaded: Bool) async -> Livekit_EgressInfo {
        guard !untilUploaded, let closing else { return await ending.value }
        await closing.value
        // Still live: uploading, ENDING. Gone: the upload already ended it.
        if let info = live[id]?.info { return info }
        return await ending.value
    }

    private func ended(_ id: String, result: Result<RecordingResult, RecordingError>, failure: String?,
                       uploaded: Result<(key: String, location: String), S3Client.Failure>? = nil,
                       segmentsUploaded: Result<SegmentsLocations, S3Client.Failure>? = nil) -> Livekit_EgressInfo {
        guard let entry = live.removeValue(forKey: id) else { return Livekit_EgressInfo() }
        var info = entry.info
        switch (result, failure) {
        case (.success(let recording), nil):
            switch uploaded {
            case nil:
                info.markComplete(recording, at: nowNanoseconds())
            case .success(let object)?:
                info.markComplete(recording, at: nowNanoseconds())
                info.markUploaded(key: object.key, location: object.location)
                // As LiveKit's egress does: once the storage has confirmed the object, the local copy goes.
                do {
                    try FileManager.default.removeItem(atPath: recording.filename)
                } catch {
                    logger.warning("removing the uploaded recording failed", metadata: [
                        "egress": "\(id)", "file": "\(recording.filename)", "error": "\(error)"])
                }
            case .failure(let error)?:
                // The local file stays (its path is in file_results) so the recording is not lost.
                info.markComplete(recording, at: nowNanoseconds())
                info.markFailed("upload failed: \(error)", at: nowNanoseconds())
            }
            switch segmentsUploaded {
            case nil:
                break
            case .success(let locations)?:
                info.markSegmentsUploaded(playlist: locations.playlist, livePlaylist: locations.livePlaylist)
                for path in locations.uploadedPaths { try? FileManager.default.removeItem(atPath: path) }
            case .failure(let error)?:
                // The playlist and segments stay on disk (segment_results names where).
                info.markFailed("segment upload failed: \(error)", at: nowNanoseconds())
            }
        case (.success, let reason?):
            info.markFailed(reason, at: nowNanoseconds())
        case (.failure(let error), let reason):
            info.markFailed(reason ?? error.reason, at: nowNanoseconds())
        }
        if let limit = entry.limitReached, info.status == .egressComplete {
            // As LiveKit egress: what was recorded is whole; the status says why it stopped.
            info.status = .egressLimitReached
            info.details = limit
        }
        endedByStatus["\(info.status)", default: 0] += 1
        persist(info)
        notify("egress_ended", info)
        logger.info("egress ended", metadata: [
            "egress": "\(id)", "status": "\(info.status)", "error": "\(info.error)",
            "file": "\(info.fileResults.first?.filename ?? "")", "bytes": "\(info.fileResults.first?.size ?? 0)",
            "duration_ms": "\((info.fileResults.first?.duration ?? 0) / 1_000_000)",
            "frames_skipped": "\((try? result.get().videoFramesSkipped) ?? 0)"])
        return info
    }

    // MARK: Uploads

    /// Where a segmented output went: the playlists' object URLs, and the local files now in storage.
    struct SegmentsLocations: Sendable {
        var playlist: String
        var livePlaylist: String?
        var uploadedPaths: [String]
    }

    /// Uploads every segment, then the live playlist and the playlist (last, so a reader of the
    /// bucket never finds a playlist naming a segment not there yet). Keys are the files' paths
    /// under the recordings directory, as for files; the first failure ends it.
    private func uploadSegments(_ segments: SegmentsResult, to destination: S3Destination,
                                egress id: String) async -> Result<SegmentsLocations, S3Client.Failure> {
        var paths = segments.segmentPaths
        if let live = segments.livePlaylistPath { paths.append(live) }
        paths.append(segments.playlistPath)
        var locations: [String: String] = [:]
        for path in paths {
            let key = EgressOutputPath.relative(path, under: recordingsPath)
            switch await upload(path, as: key, to: destination, egress: id) {
            case .success(let location): locations[path] = location
            case .failure(let error): return .failure(error)
            }
        }
        return .success(SegmentsLocations(playlist: locations[segments.playlistPath] ?? "",
                                          livePlaylist: segments.livePlaylistPath.flatMap { locations[$0] },
                                          uploadedPaths: paths))
    }

    /// The destination for a recording at `path`: the request's, else the server default; checked
    /// before anything is recorded. The object key is the path under the recordings directory.
    private func uploadTarget(_ requested: S3Destination?, path: String) throws(TwirpError)
        -> (destination: S3Destination, key: String)? {
        guard let destination = requested ?? uploads.defaultDestination else { return nil }
        if let problem = destination.problem { throw TwirpError(.invalidArgument, problem) }
        return (destination, EgressOutputPath.relative(path, under: recordingsPath))
    }

    /// Uploads on a thread of its own: curl's easy interface blocks, and neither the media
    /// threads nor Swift's cooperative pool should wait on the network.
    private nonisolated func upload(_ path: String, as key: String, to destination: S3Destination,
                                    egress id: String) async -> Result<String, S3Client.Failure> {
        let client = uploads.client, logger = self.logger
        logger.info("egress uploading", metadata: ["egress": "\(id)", "file": "\(path)", "key": "\(key)",
                                                   "to": "\(destination)"])
        let started = Date()
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<String, S3Client.Failure>, Never>) in
            let thread = Thread {
                do throws(S3Client.Failure) {
                    continuation.resume(returning: .success(try client.upload(path: path, key: key, to: destination)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            thread.name = "sluice-upload"
            thread.start()
        }
        let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
        switch result {
        case .success(let location):
            logger.info("egress uploaded", metadata: ["egress": "\(id)", "location": "\(location)", "seconds": "\(seconds)"])
        case .failure(let error):
            logger.error("egress upload failed", metadata: ["egress": "\(id)", "error": "\(error)", "seconds": "\(seconds)"])
        }
        return result
    }

    // MARK: Room composite

    /// A StartRoomCompositeEgress request, checked for room and outputs by the service.
    struct CompositePlan: Sendable {
        var roomName: String
        var request: Livekit_RoomCompositeEgressRequest
        var fileType: Livekit_EncodedFileType
        var filepath: String
        var defaultName: String
        var upload: S3Destination?
        /// False for a stream-only composite.
        var writesFile = true
        /// RTMP URLs fed from the same encode as the file.
        var streamURLs: [String] = []
        /// An HLS output fed from the same encode, and where it is uploaded (nil: the server default).
        var segments: Livekit_SegmentedFileOutput?
        var segmentsUpload: S3Destination?
        /// Participant and track composite egress: only these tracks are drawn and mixed, and the
        /// egress ends when they are unpublished (or `identity` leaves).
        var onlyTracks: [EgressTrackSource]?
        var identity: String?
        /// Filename template values beyond the room's ({publisher_identity}).
        var template = FilenameTemplate()
        /// The request EgressInfo reports; the room composite request when nil.
        var infoRequest: Livekit_EgressInfo.OneOf_Request?
    }

    /// Starts a room composite: one file of the whole room, drawn in a layout and mixed, that
    /// follows participants as they come and go and ends when the room empties.
    func startRoomComposite(_ plan: CompositePlan) async throws(TwirpError) -> Livekit_EgressInfo {
        guard let room = await rooms.room(named: plan.roomName) else {
            throw TwirpError(.notFound, "room \(plan.roomName) does not exist")
        }
        var template = plan.template
        template.roomName = room.name
        template.roomID = room.sid
        var path: String
        var options: CompositeOptions
        var segments: HLSSettings?
        do {
            path = try EgressOutputPath.resolve(template.expand(plan.filepath), under: recordingsPath,
                                                defaultName: template.expand(plan.defaultName))
            options = try RoomCompositeRequest.options(plan.request, fileType: plan.fileType, path: path)
            // FLV (RTMP) and MPEG-TS (HLS) carry H.264 and AAC: the MP4 encoding.
            if !plan.streamURLs.isEmpty || plan.segments != nil, options.container != .mp4 {
                throw RoomCompositeRequest.Failure(description: "stream and segment outputs carry H.264 and AAC; "
                                                   + "they cannot go with an \(options.container) file")
            }
            if let requested = plan.segments {
                let settings = try EgressSegmentsPath.resolve(requested, template: template, under: recordingsPath,
                                                              defaultName: plan.defaultName)
                // Segments are cut at keyframes: one at least every segment.
                options.keyframeIntervalSeconds = min(options.keyframeIntervalSeconds, Double(settings.segmentSeconds))
                segments = settings
            }
        } catch let error as EgressOutputPath.Failure {
            throw TwirpError(.invalidArgument, error.description)
        } catch let error as RoomCompositeRequest.Failure {
            throw TwirpError(error.unimplemented ? .unimplemented : .invalidArgument, error.description)
        } catch {
            throw TwirpError(.internalError, "\(error)")
        }
        if RecordingContainer(path: path) == nil { path += "." + options.container.fileExtension }
        let file: String? = plan.writesFile ? path : nil
        var upload: (destination: S3Destination, key: String)?
        if let file { upload = try uploadTarget(plan.upload, path: file) }
        let screenShares = Set(((try? await rooms.participants(roomName: room.name)) ?? []).flatMap { participant in
            participant.tracks.filter { $0.source == .screenShare }.map(\.sid)
        })
        var segmentsUpload: S3Destination?
        if let segments {
            segmentsUpload = try uploadTarget(plan.segmentsUpload, path: segments.playlistPath)?.destination
        }
        let id = SessionID.egress()
        var info = Livekit_EgressInfo.starting(id: id, roomID: room.sid, roomName: room.name, filename: file,
                                               request: plan.infoRequest ?? .roomComposite(plan.request), at: nowNanoseconds())
        info.startStreams(plan.streamURLs)
        if let segments {
            info.startSegments(playlist: EgressOutputPath.relative(segments.playlistPath, under: recordingsPath),
                               livePlaylist: segments.livePlaylistPath.map { EgressOutputPath.relative($0, under: recordingsPath) })
        }
        var entry = Live(info: info, remainingTracks: Set(plan.onlyTracks?.map(\.sid) ?? []), identity: plan.identity,
                         upload: upload)
        entry.segmentsUpload = segmentsUpload
        entry.streamURLs = plan.streamURLs
        entry.streamable = options.container == .mp4
        live[id] = entry
        persist(info)
        notify("egress_started", info)
        logger.info("room composite starting", metadata: [
            "egress": "\(id)", "room": "\(room.name)", "file": "\(file ?? "none")",
            "playlist": "\(segments?.playlistPath ?? "none")", "tracks": "\(plan.onlyTracks.map { "\($0.map(\.sid))" } ?? "all")",
            "streams": "\(plan.streamURLs.map(StreamURL.redacted))", "layout": "\(options.layout)",
            "canvas": "\(options.width)x\(options.height)@\(options.framerate)",
            "media": "\(options.includesVideo ? "video " : "")\(options.includesAudio ? "audio" : "")"])
        return await launch(id, info) { onActive, onFailure throws(RecordingError) in
            try await media.startRoomComposite(room: room.name, path: file, streamURLs: plan.streamURLs,
                                               segments: segments, onlyTracks: plan.onlyTracks.map { Set($0.map(\.sid)) },
                                               options: options, screenShares: screenShares,
                                               onActive: onActive, onFailure: onFailure,
                                               onStreamFailed: { [weak self] url, error in
                                                   Task { await self?.streamFailed(id, url: url, error) }
                                               })
        }
    }

    /// UpdateLayout: a running room composite draws `layout` from now on. Returns its info with
    /// the request's layout updated, as LiveKit does.
    func updateLayout(_ id: String, to layout: CompositeLayout, named name: String) async throws(TwirpError)
        -> Livekit_EgressInfo {
        guard var entry = live[id] else {
            let stored = try? await store.egresses(egressID: id)
            guard let record = stored?.first, let info = try? Livekit_EgressInfo(serializedBytes: record.info) else {
                throw TwirpError(.notFound, "egress \(id) does not exist")
            }
            throw TwirpError(.failedPrecondition, "egress \(id) is not active (status \(info.status))")
        }
        guard case .roomComposite(var request)? = entry.info.request else {
            throw TwirpError(.invalidArgument, "egress \(id) is not a room composite; only those have a layout")
        }
        guard entry.ending == nil, entry.info.isLive else {
            throw TwirpError(.failedPrecondition, "egress \(id) is ending")
        }
        if let control = entry.control as? any EgressCompositeControl { await control.setLayout(layout) }
        guard live[id] != nil else { throw TwirpError(.failedPrecondition, "egress \(id) ended") }
        entry = live[id]!
        request.layout = name
        entry.info.request = .roomComposite(request)
        entry.info.updatedAt = nowNanoseconds()
        live[id] = entry
        persist(entry.info)
        notify("egress_updated", entry.info)
        logger.info("room composite layout changed", metadata: ["egress": "\(id)", "layout": "\(layout)"])
        return entry.info
    }

    /// A screen share was published in `room`: room composites there show it large.
    private func noteScreenShare(_ track: Livekit_TrackInfo, room: String) {
        guard track.source == .screenShare else { return }
        for entry in live.values where entry.info.roomName == room {
            guard let control = entry.control as? any EgressCompositeControl else { continue }
            Task { await control.noteScreenShare(trackSid: track.sid) }
        }
    }

    // MARK: Store and webhooks

    private func persist(_ info: Livekit_EgressInfo) {
        guard let bytes: [UInt8] = try? info.serializedBytes() else { return }
        let record = EgressRecord(egressID: info.egressID, roomSid: info.roomID, roomName: info.roomName,
                                  status: info.status.rawValue, info: bytes, updatedAtMs: info.updatedAt / 1_000_000)
        if let sharer {
            let previousShare = sharing
            sharing = Task {
                await previousShare?.value
                await sharer(info)
            }
        }
        let previous = persisting, store = self.store, logger = self.logger
        persisting = Task {
            await previous?.value
            do {
                try await store.upsertEgress(record)
            } catch {
                logger.error("persisting egress failed", metadata: ["egress": "\(record.egressID)", "error": "\(error)"])
            }
        }
    }

    private func notify(_ event: String, _ info: Livekit_EgressInfo) {
        guard let webhooks else { return }
        var hook = Livekit_WebhookEvent()
        hook.event = event
        hook.egressInfo = info
        let previous = notifying
        notifying = Task {
            await previous?.value
            await webhooks.send(hook)
        }
    }
}
