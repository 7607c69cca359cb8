import Egress
import LiveKitProto

/// What a `RoomCompositeEgressRequest` asks Sluice's compositor for, checked before anything is
/// opened so that an impossible request is refused with a reason.
///
/// - layout: any name, read as LiveKit's default template reads it (`CompositeLayout(name:)`):
///   `grid`, `speaker`, `single-speaker`, with `-dark`/`-light`; a name the app chose for itself
///   draws as a grid, as it would in LiveKit, and EgressInfo keeps the name as given.
/// - preset or advanced options: the canvas, frame rate and bitrates as LiveKit's egress sets
///   them (720p presets 3 Mbit/s, 1080p30 4.5, 1080p60 6; portrait presets swap the sides).
/// - file type: MP4 (the default) holds H.264 and AAC; OGG means audio only, in Opus, and MP3
///   audio only in MP3, as in LiveKit. A filepath's .mp4, .ogg or .mp3 extension decides when the
///   type is DEFAULT_FILETYPE.
enum RoomCompositeRequest {
    struct Failure: Error, Equatable, CustomStringConvertible {
        var description: String
        /// Well formed, but something Sluice does not do (501 rather than 400).
        var unimplemented = false
    }

    static func layout(_ name: String) -> CompositeLayout {
        CompositeLayout(name: name)
    }

    /// Options for `request` written to a file of type `fileType` at `path` (the extension, if
    /// any, is a request).
    static func options(_ request: Livekit_RoomCompositeEgressRequest, fileType: Livekit_EncodedFileType,
                        path: String) throws(Failure) -> CompositeOptions {
        guard request.customBaseURL.isEmpty else {
            throw Failure(description: "custom_base_url needs a browser-based template, which Sluice does not run",
                          unimplemented: true)
        }
        guard !(request.audioOnly && request.videoOnly) else {
            throw Failure(description: "audio_only and video_only cannot both be set")
        }
        var options = CompositeOptions()
        options.layout = Self.layout(request.layout)
        switch request.options {
        case .preset(let preset)?:
            try apply(preset, to: &options)
        case .advanced(let advanced)?:
            try apply(advanced, to: &options)
        case nil:
            break
        }
        let named = RecordingContainer(path: path)
        switch fileType {
        case .ogg:
            if let named, named != .ogg { throw Failure(description: "file type OGG does not match filepath \"\(path)\"") }
            options.container = .ogg
        case .mp4:
            if let named, named != .mp4 { throw Failure(description: "file type MP4 does not match filepath \"\(path)\"") }
            options.container = .mp4
        case .defaultFiletype:
            options.container = named ?? .mp4
        case .mp3:
            if let named, named != .mp3 { throw Failure(description: "file type MP3 does not match filepath \"\(path)\"") }
            options.container = .mp3
        case .UNRECOGNIZED(let value):
            throw Failure(description: "file type \(value) is not known")
        }
        switch options.container {
        case .ogg:
            guard !request.videoOnly else { throw Failure(description: "an OGG file holds audio only, and video_only was asked") }
            options.includesVideo = false
            options.audioCodec = .opus
        case .mp4:
            options.includesVideo = !request.audioOnly
            options.includesAudio = !request.videoOnly
        case .mp3:
            guard !request.videoOnly else { throw Failure(description: "an MP3 file holds audio only, and video_only was asked") }
            options.includesVideo = false
            options.audioCodec = .mp3
        case .webm, .mkv:
            throw Failure(description: "room composite writes MP4, OGG or MP3, not .\(options.container.fileExtension)")
        }
        return options
    }

    private static func apply(_ preset: Livekit_EncodingOptionsPreset, to options: inout CompositeOptions) throws(Failure) {
        // (width, height, fps, kbit/s)
        let values: (Int, Int, Int, Int)
        switch preset {
        case .h264720P30: values = (1280, 720, 30, 3000)
        case .h264720P60: values = (1280, 720, 60, 4500)
        case .h2641080P30: values = (1920, 1080, 30, 4500)
        case .h2641080P60: values = (1920, 1080, 60, 6000)
        case .portraitH264720P30: values = (720, 1280, 30, 3000)
        case .portraitH264720P60: values = (720, 1280, 60, 4500)
        case .portraitH2641080P30: values = (1080, 1920, 30, 4500)
        case .portraitH2641080P60: values = (1080, 1920, 60, 6000)
        case .passthrough, .UNRECOGNIZED:
            throw Failure(description: "preset \(preset) does not fit a composite, which is always encoded")
        }
        (options.width, options.height, options.framerate) = (values.0, values.1, values.2)
        options.videoBitrate = values.3 * 1000
    }

    private static func apply(_ advanced: Livekit_EncodingOptions, to options: inout CompositeOptions) throws(Failure) {
        if advanced.width != 0 { options.width = Int(advanced.width) }
        if advanced.height != 0 { options.height = Int(advanced.height) }
        guard (16...4096).contains(options.width), (16...4096).contains(options.height) else {
            throw Failure(description: "width and height must be 16 to 4096 pixels")
        }
        // YUV 4:2:0 needs even sides.
        options.width &= ~1
        options.height &= ~1
        if advanced.framerate != 0 { options.framerate = Int(advanced.framerate) }
        guard (1...60).contains(options.framerate) else { throw Failure(description: "framerate must be 1 to 60") }
        if advanced.videoBitrate > 0 { options.videoBitrate = Int(advanced.videoBitrate) * 1000 }
        if advanced.audioBitrate > 0 { options.audioBitrate = Int(advanced.audioBitrate) * 1000 }
        if advanced.keyFrameInterval > 0 { options.keyframeIntervalSeconds = advanced.keyFrameInterval }
        switch advanced.videoCodec {
        case .defaultVc, .h264Baseline, .h264Main, .h264High: break
        default: throw Failure(description: "room composite encodes H.264 only", unimplemented: true)
        }
        switch advanced.audioCodec {
        case .defaultAc, .aac: break
        case .opus: options.audioCodec = .opus
        default: throw Failure(description: "room composite encodes AAC (MP4) or Opus (OGG) audio", unimplemented: true)
        }
    }
}
