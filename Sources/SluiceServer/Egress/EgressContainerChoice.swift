import Egress
import LiveKitProto

/// Which container an egress writes, which of its tracks go in and how (copied or transcoded),
/// decided before anything is opened so that an impossible request is refused with a reason
/// instead of failing later.
///
/// Sluice copies tracks where it can and transcodes where the container demands it (see
/// `RecordingContainer.output(for:audioCodec:)`): VP8 in MP4 is encoded to H.264, Opus in an MP3
/// file to MP3, and Opus to AAC when `EncodingOptions.audio_codec` asks for AAC. It never encodes
/// VP8, so H.264 cannot go into WebM. The rules, in order:
/// 1. Audio-only file types leave video tracks out, as in LiveKit: `file_type: OGG` (Opus copied)
///    and `file_type: MP3` (Opus encoded to MP3). A filepath ending in .ogg or .mp3 counts the
///    same. With no audio track there is nothing to record (400).
/// 2. `file_type: MP4` is honoured exactly: H.264 is copied, VP8 transcoded, Opus copied (or AAC
///    or MP3 when asked).
/// 3. Otherwise (`DEFAULT_FILETYPE`, or a track egress's `DirectFileOutput`) the filepath's
///    extension decides (.mp4, .webm, .mkv, .ogg, .mp3); without one, the codecs decide as
///    LiveKit's track egress does: H.264 -> MP4, VP8 -> WebM, Opus alone -> Ogg, H.264 with VP8
///    -> MKV. A VP8 participant therefore records to WebM (copied) by default, and to MP4
///    (transcoded) when asked by name or file type — never a different file type than the one
///    named.
/// An audio codec asked for that the container cannot take (AAC in Ogg or WebM, AAC in an MP3
/// file) is refused (400).
struct EgressContainerChoice: Equatable {
    var container: RecordingContainer
    /// Indexes (into the candidate tracks) that go into the file.
    var included: [Int]
    /// The audio codec asked for (nil: none), passed to the recorder.
    var audioCodec: AudioEncoderSettings.Codec? = nil

    enum Failure: Error, Equatable, CustomStringConvertible {
        case unsupportedFileType(String)
        case conflictingExtension(fileType: String, path: String)
        case codecNotAllowed(codec: RecordingCodec, container: RecordingContainer)
        case audioCodecNotAllowed(String, container: RecordingContainer)
        case nothingToRecord(String)

        var description: String {
            switch self {
            case .unsupportedFileType(let type):
                "file type \(type) is not supported; use MP4, OGG, MP3 or DEFAULT_FILETYPE"
            case .conflictingExtension(let type, let path):
                "file type \(type) does not match the extension of filepath \"\(path)\""
            case .codecNotAllowed(let codec, let container) where codec == .h264 && container == .webm:
                "H264 cannot be stored in .webm: Sluice encodes H.264 but not VP8; use an .mp4 or .mkv filepath"
            case .codecNotAllowed(let codec, let container):
                "\(codec.rawValue) cannot be stored in .\(container.fileExtension)"
            case .audioCodecNotAllowed(let codec, let container):
                "audio codec \(codec) cannot be stored in .\(container.fileExtension); "
                    + "AAC and MP3 go into MP4 or MKV, and MP3 files take MP3 only"
            case .nothingToRecord(let why):
                why
            }
        }
    }

    /// - Parameters:
    ///   - fileType: the EncodedFileOutput's type; nil for a track egress (DirectFileOutput).
    ///   - path: the resolved file path (its extension, if any, is a request).
    ///   - codecs: the candidate tracks' codecs.
    ///   - audioCodec: `EncodingOptions.audio_codec` of the request (`DEFAULT_AC` when none).
    static func choose(fileType: Livekit_EncodedFileType?, path: String, codecs: [RecordingCodec],
                       audioCodec: Livekit_AudioCodec = .defaultAc) throws(Failure) -> EgressContainerChoice {
        let named = RecordingContainer(path: path)
        var included = Array(codecs.indices)
        let container: RecordingContainer
        switch fileType {
        case .ogg?:
            if let named, named != .ogg { throw .conflictingExtension(fileType: "OGG", path: path) }
            container = .ogg
        case .mp3?:
            if let named, named != .mp3 { throw .conflictingExtension(fileType: "MP3", path: path) }
            container = .mp3
        case .mp4?:
            if let named, named != .mp4 { throw .conflictingExtension(fileType: "MP4", path: path) }
            container = .mp4
        case .UNRECOGNIZED(let value)?:
            throw .unsupportedFileType("\(value)")
        case .defaultFiletype?, nil:
            container = named ?? RecordingContainer.preferred(for: codecs)
        }
        let wanted: AudioEncoderSettings.Codec?
        switch audioCodec {
        case .defaultAc: wanted = nil
        case .opus: wanted = .opus
        case .aac: wanted = .aac
        case .acMp3: wanted = .mp3
        case .UNRECOGNIZED(let value): throw .audioCodecNotAllowed("\(value)", container: container)
        }
        if container.isAudioOnly {
            included = included.filter { !codecs[$0].isVideo }
            guard !included.isEmpty else {
                throw .nothingToRecord("file type \(container.rawValue.uppercased()) records audio, and there is no audio track")
            }
        }
        guard !included.isEmpty else { throw .nothingToRecord("there is no track to record") }
        for index in included where container.output(for: codecs[index], audioCodec: wanted) == nil {
            if !codecs[index].isVideo, let wanted { throw .audioCodecNotAllowed(wanted.rawValue.uppercased(), container: container) }
            throw .codecNotAllowed(codec: codecs[index], container: container)
        }
        return EgressContainerChoice(container: container, included: included, audioCodec: wanted)
    }

    /// `path` with the container's extension appended unless it already names one.
    func path(_ path: String) -> String {
        RecordingContainer(path: path) == nil ? path + "." + container.fileExtension : path
    }
}
