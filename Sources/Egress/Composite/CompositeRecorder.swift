import CFFmpeg
import Foundation
import Media

/// Records a whole room into one file, as LiveKit's room composite egress does: every video
/// track decoded and drawn into one canvas in a layout (grid, speaker, single speaker), every
/// audio track decoded and mixed, the result encoded (H.264 + AAC in fragmented MP4, or Opus in
/// Ogg for audio only) and muxed by `MediaMuxer`, crash-safe as the other recordings are.
///
/// Outputs: the file (optional), HLS segments (optional) and any number of RTMP streams, all
/// muxing the same encoded packets — one encode, several muxers. Streams can be added and removed
/// while recording (`addStream`, `removeStream`). A stream that cannot connect or whose connection drops
/// is dropped (its `StreamResult` says why, `onStreamFailed` tells at once) and the others go
/// on; the recording fails only when the file fails or no output is left.
///
/// Input is the RTP of numbered tracks, as for `FileRecorder`, but the tracks come and go while
/// recording (`addTrack`, `removeTrack`: participants join, leave, publish, unpublish), and the
/// layout can change (`setLayout`).
///
/// Timing. Every frame is placed on one clock: the arrival clock, through its track's RTP
/// timestamps (`TrackTimeline`). The composite starts (output time 0) with the first frame of any
/// track. Output lags input by `delayNanoseconds`, so that reordered and retransmitted packets
/// and all tracks' frames for a moment are in before that moment is drawn and mixed: video frame
/// k (time k/fps) is drawn from the pictures decoded at or before its time, and audio is read
/// out of the mix up to the same point. "Now" for that purpose is the arrival time of the last
/// packet taken — not the wall clock, so a writer thread running behind its ring never draws
/// ahead of what it has read — or, when no packet comes at all, the wall clock less a second.
///
/// Output is produced from `tick`, which the writer thread calls every `tickIntervalNanoseconds`;
/// timestamps come from the frame count, never from when a frame happened to be drawn.
/// Not thread-safe; confine to one thread.
public final class CompositeRecorder: RTPRecorder {
    /// The file, if one is written.
    public let path: String?
    /// Every stream URL ever given, in order (added ones last).
    public private(set) var streamURLs: [String]
    /// The segmented output, if one is written.
    public let segments: HLSSettings?
    /// A stream output failed while the recording goes on (called on the recorder's thread).
    public var onStreamFailed: ((_ url: String, _ error: RecordingError) -> Void)?
    public let options: CompositeOptions
    public var onKeyframeNeeded: ((_ track: Int) -> Void)?
    public var onFailure: ((RecordingError) -> Void)?
    public private(set) var failure: RecordingError?
    public var keyframeRequestIntervalNanoseconds: UInt64 = 500_000_000
    public var tickIntervalNanoseconds: UInt64 { 10_000_000 }
    public var delayNanoseconds: Int64 = 300_000_000

    public private(set) var layout: CompositeLayout
    public private(set) var videoFramesWritten = 0
    public private(set) var audioPacketsWritten = 0
    public var hasWrittenFrames: Bool { videoFramesWritten + audioPacketsWritten > 0 }

    /// One muxer fed with every encoded packet: the file (url nil) or a stream.
    private final class Output {
        let muxer: MediaMuxer
        let url: String?
        var videoStream = 0
        var audioStream = 0
        var startedAt: Int64
        var failure: RecordingError?
        /// A stream removed on request: finished, written no more.
        var closed = false
        init(muxer: MediaMuxer, url: String?, startedAt: Int64) {
            self.muxer = muxer
            self.url = url
            self.startedAt = startedAt
        }
    }
    private var outputs: [Output] = []
    /// Streams that never connected: their results as they stand.
    private var unopenedStreams: [StreamResult] = []
    private var streamEnds: [String: Int64] = [:]
    private let wallClock: @Sendable () -> Int64
    private var inputs: [Int: CompositeInput] = [:]
    private var speakers = ActiveSpeakerDetector()

    private let canvas: CompositeCanvas?
    private let videoEncoder: VideoEncoder?
    private var nextVideoFrame: Int64 = 0
    /// How far behind the wall clock the writer was at the last tick (see `frameStride`).
    private var backlog: UInt64 = 0
    /// Output frames not drawn or encoded because the writer was behind.
    public private(set) var videoFramesSkipped = 0

    private let audioEncoder: AudioEncoder?
    private var mixer = AudioMixer()
    /// The mix read out per step, in planar buffers lent to the encoder.
    private let mixBuffers: UnsafeMutablePointer<Float>
    private let mixPlanes: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>
    static let mixChunk = 960  // 20 ms

    /// The composite's start on the arrival clock (ns); nil until the first frame.
    private var epoch: Int64?
    private var lastArrival: Int64 = 0
    private var startedAt: Int64?
    private var finished = false
    /// The next video frame is encoded as a keyframe (a stream joined and needs one to start).
    private var keyframeWanted = false
    /// Segments the live playlist was last written with.
    private var liveSegmentsWritten = -1
    private var nextLivePlaylistCheck: UInt64 = 0

    /// Opens `path` (directories are created), if given, and connects to each of `streamURLs`,
    /// then opens the encoders and writes the headers. A stream that cannot connect is recorded
    /// as failed and left out; with no file and no stream connected, this throws.
    public init(path: String?, streamURLs: [String] = [], segments: HLSSettings? = nil, options: CompositeOptions,
                wallClock: @escaping @Sendable () -> Int64 = { FileRecorder.unixNanoseconds() }) throws(RecordingError) {
        guard options.includesVideo || options.includesAudio else { throw .noTracks }
        guard path != nil || segments != nil || !streamURLs.isEmpty else {
            throw .muxerSetupFailed("no file, no segments and no stream to write")
        }
        self.path = path
        self.streamURLs = streamURLs
        self.segments = segments
        self.options = options
        self.wallClock = wallClock
        layout = options.layout
        var fileMuxer: MediaMuxer?
        if let path {
            try Self.prepareDirectory(of: path)
            fileMuxer = try MediaMuxer(path: path, container: options.container)
        }
        // FLV carries H.264 and AAC configuration in its sequence headers, so streams need the
        // encoders' global headers (extradata) as MP4 does.
        // Streams may also be added later (UpdateStream), and any H.264 + AAC composite may take
        // one, so those always have them.
        let globalHeader = path == nil || options.container.needsGlobalHeader || options.container == .mp4
            || !streamURLs.isEmpty || segments != nil
        if options.includesVideo {
            let width = options.width & ~1, height = options.height & ~1
            canvas = try CompositeCanvas(width: width, height: height)
            var settings = VideoEncoderSettings(width: width, height: height, framesPerSecond: options.framerate,
                                                bitrate: options.videoBitrate,
                                                keyframeIntervalSeconds: options.keyframeIntervalSeconds,
                                                timeBase: options.framerate, globalHeader: globalHeader)
            // Two shared cores: the fastest presets above 720p.
            settings.preset = width * height > 1280 * 720 ? "superfast" : "veryfast"
            videoEncoder = try VideoEncoder(settings)
        } else {
            canvas = nil
            videoEncoder = nil
        }
        if options.includesAudio {
            let codec: AudioEncoderSettings.Codec = switch options.audioCodec {
            case .aac: .aac
            case .opus: .opus
            case .mp3: .mp3
            }
            audioEncoder = try AudioEncoder(AudioEncoderSettings(codec: codec, sampleRate: CompositeOptions.audioSampleRate,
                                                                 channels: CompositeOptions.audioChannels,
                                                                 bitrate: options.audioBitrate, globalHeader: globalHeader))
        } else {
            audioEncoder = nil
        }
        mixBuffers = .allocate(capacity: Self.mixChunk * CompositeOptions.audioChannels)
        mixPlanes = .allocate(capacity: CompositeOptions.audioChannels)
        for channel in 0..<CompositeOptions.audioChannels {
            mixPlanes[channel] = UnsafeMutableRawPointer(mixBuffers + channel * Self.mixChunk).assumingMemoryBound(to: UInt8.self)
        }
        if let fileMuxer { outputs.append(try open(fileMuxer, url: nil)) }
        if let segments {
            try Self.prepareDirectory(of: segments.playlistPath)
            outputs.append(try open(MediaMuxer(hls: segments), url: nil))
        }
        var lastError: RecordingError?
        for url in streamURLs {
            do throws(RecordingError) {
                outputs.append(try open(MediaMuxer(streamURL: url), url: url))
            } catch {
                lastError = error
                unopenedStreams.append(StreamResult(url: url, endedAtNanoseconds: wallClock(), failure: error))
            }
        }
        if outputs.isEmpty, let lastError { throw lastError }
    }

    /// Declares the encoders' streams on `muxer` and writes its header.
    private func open(_ muxer: MediaMuxer, url: String?) throws(RecordingError) -> Output {
        let output = Output(muxer: muxer, url: url, startedAt: wallClock())
        if let videoEncoder { output.videoStream = try muxer.addStream(from: videoEncoder) }
        if let audioEncoder { output.audioStream = try muxer.addStream(from: audioEncoder) }
        try muxer.writeHeader()
        return output
    }

    /// Every live output gets the packet. A stream that fails is dropped; the file failing, or
    /// the last output failing, fails the recording.
    private func write(_ packet: EncodedPacket, video: Bool) throws(RecordingError) {
        for output in outputs where output.failure == nil && !output.closed {
            do throws(RecordingError) {
                try output.muxer.write(stream: video ? output.videoStream : output.audioStream, packet: packet)
            } catch {
                guard let url = output.url else { throw error }
                dropStream(output, url: url, error)
            }
        }
        // The last output failing fails the recording; streams removed on request do not count.
        if let last = outputs.last(where: { $0.failure != nil }), outputs.allSatisfy({ $0.failure != nil || $0.closed }),
           !outputs.allSatisfy(\.closed) {
            throw last.failure ?? .noTracks
        }
    }

    /// A stream added while recording: `muxer` is connected (the slow part, done by the caller off
    /// this thread); it gets the encoders' streams, its header, and every packet from now on,
    /// starting at a keyframe asked for at once. A URL given before (failed or removed) is replaced.
    public func addStream(_ muxer: MediaMuxer, url: String) throws(RecordingError) {
        guard !finished, failure == nil else { throw .alreadyFinished }
        let output = try open(muxer, url: url)
        outputs.removeAll { $0.url == url }
        unopenedStreams.removeAll { $0.url == url }
        streamEnds[url] = nil
        if !streamURLs.contains(url) { streamURLs.append(url) }
        outputs.append(output)
        keyframeWanted = true
    }

    /// Stops writing to a stream and closes it (its result: finished). False if it is not live.
    @discardableResult
    public func removeStream(url: String) -> Bool {
        guard let output = outputs.first(where: { $0.url == url && $0.failure == nil && !$0.closed }) else { return false }
        output.closed = true
        streamEnds[url] = wallClock()
        try? output.muxer.finish()
        return true
    }

    /// The streams being written now.
    public var liveStreamURLs: [String] {
        outputs.compactMap { $0.failure == nil && !$0.closed ? $0.url : nil }
    }

    private func dropStream(_ output: Output, url: String, _ error: RecordingError) {
        output.failure = error
        streamEnds[url] = wallClock()
        try? output.muxer.finish()
        onStreamFailed?(url, error)
    }

    /// The streams that could not connect when the recorder opened (the recording goes on).
    public var streamsFailedAtStart: [StreamResult] { unopenedStreams }

    /// The streams' results, in the order asked.
    private var streamResults: [StreamResult] {
        streamURLs.compactMap { url in
            if let output = outputs.last(where: { $0.url == url }) {
                return StreamResult(url: url, startedAtNanoseconds: output.startedAt, endedAtNanoseconds: streamEnds[url],
                                    failure: output.failure)
            }
            return unopenedStreams.first { $0.url == url }
        }
    }

    deinit {
        mixBuffers.deallocate()
        mixPlanes.deallocate()
    }

    // MARK: Tracks and layout

    /// A track to composite from now on, under recorder index `index` (never reused).
    public func addTrack(_ index: Int, _ track: RecordingTrack, participant: String, isScreenShare: Bool) {
        guard failure == nil, !finished, inputs[index] == nil else { return }
        guard track.codec.isVideo ? options.includesVideo : options.includesAudio else { return }
        do throws(RecordingError) {
            inputs[index] = try CompositeInput(index: index, track: track, participant: participant,
                                               isScreenShare: isScreenShare)
        } catch {
            // A decoder that will not open loses one track, not the recording.
            inputsRefused += 1
        }
    }

    /// Tracks left out because their decoder would not open.
    public private(set) var inputsRefused = 0

    /// The track is gone. Its tile leaves the layout from the output frame of this moment (the
    /// frames still to draw before it, `delayNanoseconds` of them, keep it); audio already mixed stays.
    public func removeTrack(_ index: Int) {
        guard let input = inputs[index], !input.departed else { return }
        input.departed = true
        changes.append((epoch == nil ? Int64.min : lastArrival, .remove(index)))
        if epoch == nil { applyChanges(upTo: Int64.min) }
    }

    public func markScreenShare(_ index: Int) {
        inputs[index]?.isScreenShare = true
    }

    /// The layout from the output frame of this moment on.
    public func setLayout(_ layout: CompositeLayout) {
        changes.append((epoch == nil ? Int64.min : lastArrival, .layout(layout)))
        if epoch == nil { applyChanges(upTo: Int64.min) }
    }

    /// Changes waiting for the output to reach the moment they were asked for, in order.
    private enum Change {
        case remove(Int)
        case layout(CompositeLayout)
    }
    private var changes: [(at: Int64, change: Change)] = []

    private func applyChanges(upTo time: Int64) {
        while let first = changes.first, first.at <= time {
            changes.removeFirst()
            switch first.change {
            case .remove(let index):
                guard let input = inputs.removeValue(forKey: index) else { continue }
                if !input.isVideo, !inputs.values.contains(where: { !$0.isVideo && $0.participant == input.participant }) {
                    speakers.remove(input.participant)
                }
            case .layout(let layout):
                self.layout = layout
            }
        }
    }

    /// Who the speaker layouts show large now.
    public var activeSpeaker: String? { speakers.current }
    public var trackCount: Int { inputs.count }

    // MARK: Input

    public func receiveRTP(_ packet: UnsafeRawBufferPointer, track: Int, arrivalNanoseconds: UInt64) {
        guard failure == nil, !finished, let input = inputs[track], !input.departed else { return }
        guard let rtp = try? RTPPacket(packet), rtp.payloadType == input.track.payloadType else { return }
        if startedAt == nil { startedAt = wallClock() }
        let arrival = Int64(clamping: arrivalNanoseconds)
        lastArrival = max(lastArrival, arrival)
        input.timeline.notePacket(timestamp: rtp.timestamp, arrivalNanoseconds: arrivalNanoseconds)
        _ = input.reorderBuffer.insert(packet, arrivalNanoseconds: arrivalNanoseconds)
        drain(input, now: arrivalNanoseconds, final: false)
    }

    /// Sender reports are not used: tracks are placed by arrival, which keeps each participant's
    /// audio and video within the network's jitter of each other.
    public func receiveSenderReport(track: Int, ntp: UInt64, rtpTimestamp: UInt32) {}

    public func tick(now: UInt64, backlog: UInt64) {
        guard failure == nil, !finished else { return }
        self.backlog = backlog
        for input in inputs.values { drain(input, now: now, final: false) }
        // Packets lead; with none for a second the wall clock takes over (everyone muted).
        let present = max(lastArrival, Int64(clamping: now) - 1_000_000_000)
        produce(until: present - delayNanoseconds)
        if segments?.livePlaylistPath != nil, now >= nextLivePlaylistCheck {
            nextLivePlaylistCheck = now + 500_000_000
            updateLivePlaylist(final: false)
        }
    }

    /// Rewrites the live playlist (the newest segments of the main one) when a segment was added;
    /// at the end, closed with ENDLIST as the main one is.
    private func updateLivePlaylist(final: Bool) {
        guard let segments, let livePath = segments.livePlaylistPath,
              let main = HLSPlaylist(contentsOf: segments.playlistPath) else { return }
        guard final || main.segments.count != liveSegmentsWritten else { return }
        liveSegmentsWritten = main.segments.count
        var live = main.window(segments.liveWindow)
        live.ended = final
        try? live.write(to: livePath)
    }

    // MARK: Finish

    public func finish() throws(RecordingError) -> RecordingResult {
        guard !finished else { throw .alreadyFinished }
        if failure == nil {
            for input in inputs.values { drain(input, now: UInt64.max, final: true) }
            // Everything received is drawn and mixed: up to the last frame of any track.
            let end = max(lastArrival, inputs.values.compactMap(\.lastHeldTime).max() ?? 0)
            produce(until: end)
            applyChanges(upTo: Int64.max)
            flushEncoders()
        }
        finished = true
        if let failure {
            for output in outputs where output.failure == nil { try? output.muxer.finish() }
            throw failure
        }
        for output in outputs where output.failure == nil && !output.closed {
            do throws(RecordingError) {
                try output.muxer.finish()
                if let url = output.url { streamEnds[url] = wallClock() }
            } catch {
                guard let url = output.url else {
                    fail(error)
                    throw error
                }
                dropStream(output, url: url, error)
            }
        }
        let size = path.flatMap { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? NSNumber)?.int64Value } ?? 0
        let videoDuration = nextVideoFrame * 1_000_000_000 / Int64(max(1, options.framerate))
        let audioDuration = mixer.readPosition * 1_000_000_000 / Int64(CompositeOptions.audioSampleRate)
        let ended = wallClock()
        var result = RecordingResult(filename: path ?? "", sizeBytes: size,
                                     durationNanoseconds: max(videoDuration, audioDuration),
                                     startedAtNanoseconds: startedAt ?? ended, endedAtNanoseconds: ended,
                                     framesWritten: [videoFramesWritten, audioPacketsWritten])
        result.streams = streamResults
        result.videoFramesSkipped = videoFramesSkipped
        if let segments {
            updateLivePlaylist(final: true)
            result.segments = Self.segmentsResult(segments)
        }
        return result
    }

    // MARK: Private: input

    private func drain(_ input: CompositeInput, now: UInt64, final: Bool) {
        let deliver = { (bytes: UnsafeRawBufferPointer, lost: Int) in self.depacketize(bytes, lostBefore: lost, into: input) }
        if final {
            input.reorderBuffer.flush(deliver)
        } else {
            input.reorderBuffer.drain(now: now, deliver)
        }
        if input.isVideo, input.depacketizer.needsKeyframe, now != UInt64.max {
            if input.lastKeyframeRequest.map({ now &- $0 >= keyframeRequestIntervalNanoseconds }) ?? true {
                input.lastKeyframeRequest = now
                onKeyframeNeeded?(input.index)
            }
        }
    }

    private func depacketize(_ bytes: UnsafeRawBufferPointer, lostBefore: Int, into input: CompositeInput) {
        guard let rtp = try? RTPPacket(bytes) else { return }
        input.depacketizer.push(rtp, lostBefore: lostBefore) { frame in
            let time = input.time(of: frame)
            // The composite starts with the first frame of any track.
            let epoch = self.epoch ?? time
            if self.epoch == nil { self.epoch = epoch }
            if input.isVideo {
                input.hold(frame, time: time)
            } else {
                input.decodeAudio(frame, epoch: epoch) { audio, position in
                    mix(audio, at: position, from: input, time: time)
                }
            }
        }
    }

    private func mix(_ audio: PlanarAudio, at position: Int64, from input: CompositeInput, time: Int64) {
        let left = audio.channel(0)
        guard let leftBase = left.baseAddress, audio.sampleCount > 0 else { return }
        let right = audio.channelCount > 1 ? audio.channel(1).baseAddress : nil
        mixer.add(left: leftBase, right: right, count: audio.sampleCount, at: position)
        var energy: Float = 0
        for sample in left { energy += sample * sample }
        let rms = (energy / Float(audio.sampleCount)).squareRoot()
        let duration = Int64(audio.sampleCount) * 1_000_000_000 / Int64(CompositeOptions.audioSampleRate)
        speakers.note(input.participant, rms: rms, duration: duration, at: time)
    }

    // MARK: Private: output

    /// Draws and encodes every video frame due at or before `time` (arrival clock), and encodes
    /// the mix up to it.
    private func produce(until time: Int64) {
        guard failure == nil, let epoch, time > epoch else { return }
        do throws(RecordingError) {
            if let canvas, let videoEncoder {
                let fps = Int64(max(1, options.framerate))
                while epoch + nextVideoFrame * 1_000_000_000 / fps <= time {
                    let frameTime = epoch + nextVideoFrame * 1_000_000_000 / fps
                    applyChanges(upTo: frameTime)
                    for input in inputs.values where input.isVideo { try input.decode(upTo: frameTime) }
                    let stride = Self.frameStride(backlog: backlog)
                    if stride > 1, nextVideoFrame % stride != 0, !keyframeWanted {
                        // Behind: this frame's time passes without a picture (the file's frame
                        // rate drops for a moment; the decoders above still see every frame).
                        videoFramesSkipped += 1
                        nextVideoFrame += 1
                        continue
                    }
                    try canvas.draw(placements(canvas), inputs: inputs, background: layout.background)
                    let forceKeyframe = keyframeWanted
                    keyframeWanted = false
                    try videoEncoder.encode(canvas.buffer.frame, pts: nextVideoFrame, duration: 1,
                                            forceKeyframe: forceKeyframe) { packet throws(RecordingError) in
                        try write(packet, video: true)
                        videoFramesWritten += 1
                    }
                    nextVideoFrame += 1
                }
            }
            applyChanges(upTo: time)
            if let audioEncoder {
                let target = (time - epoch) * Int64(CompositeOptions.audioSampleRate) / 1_000_000_000
                while mixer.readPosition + Int64(Self.mixChunk) <= target {
                    try encodeMix(audioEncoder, count: Self.mixChunk)
                }
            }
        } catch {
            fail(error)
        }
    }

    /// Every how many output frames one is drawn and encoded, by how far behind the writer is.
    /// A composite's encoder is what a busy machine cannot always keep up with (1080p30 x264 on
    /// one core, shared with the rest of the server): drawing and encoding every frame anyway
    /// only grows the delay, and with it the time a stopped recording takes to close.
    static func frameStride(backlog: UInt64) -> Int64 {
        switch backlog {
        case ..<250_000_000: 1
        case ..<1_000_000_000: 2
        default: 3
        }
    }

    private func encodeMix(_ encoder: AudioEncoder, count: Int) throws(RecordingError) {
        let position = mixer.readPosition
        mixer.read(count: count, left: mixBuffers, right: mixBuffers + Self.mixChunk)
        let audio = PlanarAudio(planes: mixPlanes, channelCount: CompositeOptions.audioChannels, sampleCount: count)
        try encoder.encode(audio, pts: position) { packet throws(RecordingError) in
            try write(packet, video: false)
            audioPacketsWritten += 1
        }
    }

    /// The video tiles in publication order (those with a picture yet), placed by the layout.
    private func placements(_ canvas: CompositeCanvas) -> [TilePlacement] {
        let tiles = inputs.values.filter { $0.isVideo && $0.picture != nil }.sorted { $0.index < $1.index }
            .map { CompositeTile(track: $0.index, participant: $0.participant, isScreenShare: $0.isScreenShare) }
        return CompositeTiling.place(tiles, canvasWidth: canvas.width, canvasHeight: canvas.height,
                                     layout: layout.arrangement, speaker: speakers.current,
                                     gridYieldsToScreenShare: layout.gridYieldsToScreenShare)
    }

    private func flushEncoders() {
        do throws(RecordingError) {
            if let audioEncoder {
                let rest = Int(max(0, min(Int64(Self.mixChunk), lastMixEnd - mixer.readPosition)))
                if rest > 0 { try encodeMix(audioEncoder, count: rest) }
                try audioEncoder.flush { packet throws(RecordingError) in
                    try write(packet, video: false)
                    audioPacketsWritten += 1
                }
            }
            if let videoEncoder {
                try videoEncoder.flush { packet throws(RecordingError) in
                    try write(packet, video: true)
                    videoFramesWritten += 1
                }
            }
        } catch {
            fail(error)
        }
    }

    /// Where the mix ends: the end of the time produced.
    private var lastMixEnd: Int64 {
        guard let epoch else { return 0 }
        return (lastArrival - epoch) * Int64(CompositeOptions.audioSampleRate) / 1_000_000_000
    }

    private func fail(_ error: RecordingError) {
        guard failure == nil else { return }
        failure = error
        onFailure?(error)
    }

    /// The closed playlist read back: its segments, their total duration and size.
    private static func segmentsResult(_ settings: HLSSettings) -> SegmentsResult {
        let playlist = HLSPlaylist(contentsOf: settings.playlistPath) ?? HLSPlaylist()
        let directory = (settings.playlistPath as NSString).deletingLastPathComponent
        let paths = (playlist.initSegment.map { [$0] } ?? []).map { (directory as NSString).appendingPathComponent($0) }
            + playlist.segments.map { (directory as NSString).appendingPathComponent($0.uri) }
        let size = paths.reduce(Int64(0)) { sum, path in
            sum + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0)
        }
        return SegmentsResult(playlistPath: settings.playlistPath, livePlaylistPath: settings.livePlaylistPath,
                              segmentPaths: paths, segmentCount: playlist.segments.count, durationNanoseconds: Int64(playlist.totalSeconds * 1e9), sizeBytes: size)
    }

    private static func prepareDirectory(of path: String) throws(RecordingError) {
        let directory = (path as NSString).deletingLastPathComponent
        guard !directory.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .unwritableDirectory(path: directory, reason: String(describing: error))
        }
    }
}
