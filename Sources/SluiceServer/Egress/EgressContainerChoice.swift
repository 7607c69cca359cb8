import Egress
import LiveKitProto

/// Which container an egress writes and which of its tracks go in, decided before anything is
/// opened so that an impossible request is refused with a reason instead of failing later.
///
/// Sluice records by stream copy; it never transcodes. That fixes what each container can hold:
/// MP4 takes H.264 and Opus, WebM takes VP8 and Opus, Matroska takes all three, Ogg takes Opus.
/// The rules, in order:
/// 1. `file_type: OGG` means audio only (as in LiveKit): video tracks are left out.
/// 2. `file_type: MP4` is honoured exactly. LiveKit would transcode VP8 to H.264 here; Sluice
///    cannot, so VP8 video with MP4 is refused (400) with a message that says what to ask for.
/// 3. Otherwise (`DEFAULT_FILETYPE`, or a track egress's `DirectFileOutput`) the filepath's
///    extension decides (.mp4, .webm, .mkv, .ogg); without one, the codecs decide as LiveKit's
///    track egress does: H.264 -> MP4, VP8 -> WebM, Opus alone -> Ogg, H.264 with VP8 -> MKV.
///    A VP8 participant therefore records to WebM by default, and MP4 only when asked by name
///    is refused — never a silently different file type than the one named.
struct EgressContainerChoice: Equatable {
    var container: RecordingContainer
    /// Indexes (into the candidate tracks) that go into the file.
    var included: [Int]

    enum Failure: Error, Equatable, CustomStringConvertible {
        case unsupportedFileType(String)
        case conflictingExtension(fileType: String, path: String)
        case codecNotAllowed(codec: RecordingCodec, container: RecordingContainer)
        case nothingToRecord(String)

        var description: String {
            switch self {
            case .unsupportedFileType(let type):
                "file type \(type) needs transcoding, which Sluice's recorder does not do; use MP4, OGG or DEFAULT_FILETYPE"
            case .conflictingExtension(let type, let path):
                "file type \(type) does not match the extension of filepath \"\(path)\""
            case .codecNotAllowed(let codec, let container):
                "\(codec.rawValue) cannot be stored in .\(container.fileExtension) without transcoding, which Sluice does "
                    + "not do: use a .webm or .mkv filepath with DEFAULT_FILETYPE for VP8, or publish H.264 for MP4"
            case .nothingToRecord(let why):
                why
            }
        }
    }

    /// - Parameters:
    ///   - fileType: the EncodedFileOutput's type; nil for a track egress (DirectFileOutput).
    ///   - path: the resolved file path (its extension, if any, is a request).
    ///   - codecs: the candidate tracks' codecs.
    static func choose(fileType: Livekit_EncodedFileType?, path: String,
                       codecs: [RecordingCodec]) throws(Failure) -> EgressContainerChoice {
        let named = RecordingContainer(path: path)
        var included = Array(codecs.indices)
        let container: RecordingContainer
        switch fileType {
        case .ogg?:
            if let named, named != .ogg { throw .conflictingExtension(fileType: "OGG", path: path) }
            included = included.filter { codecs[$0] == .opus }
            guard !included.isEmpty else { throw .nothingToRecord("file type OGG records audio, and there is no audio track") }
            container = .ogg
        case .mp4?:
            if let named, named != .mp4 { throw .conflictingExtension(fileType: "MP4", path: path) }
            container = .mp4
        case .mp3?:
            throw .unsupportedFileType("MP3")
        case .UNRECOGNIZED(let value)?:
            throw .unsupportedFileType("\(value)")
        case .defaultFiletype?, nil:
            container = named ?? RecordingContainer.preferred(for: codecs)
        }
        guard !included.isEmpty else { throw .nothingToRecord("there is no track to record") }
        for index in included where !container.supports(codecs[index]) {
            throw .codecNotAllowed(codec: codecs[index], container: container)
        }
        return EgressContainerChoice(container: container, included: included)
    }

    /// `path` with the container's extension appended unless it already names one.
    func path(_ path: String) -> String {
        RecordingContainer(path: path) == nil ? path + "." + container.fileExtension : path
    }
}
