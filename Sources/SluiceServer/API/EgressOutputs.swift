import LiveKitProto
import SwiftProtobuf

/// The outputs of an encoded egress request (room composite, web, track composite, participant),
/// read the way LiveKit's SDKs fill them.
///
/// LiveKit's requests carry outputs twice: the deprecated `output` oneof (`file`, `stream`,
/// `segments`) and the lists `file_outputs`, `stream_outputs`, `segment_outputs`, `image_outputs`.
/// LiveKit's Node SDK (`livekit-server-sdk` 2.x) fills both with the same output for a single
/// `EncodedFileOutput`, and livekit/egress accepts that (it reads the list and only falls back to the
/// legacy field when the list is empty). Sluice merges the two: an output that appears in both is
/// one output; two different outputs of a kind that allows only one (file, stream, segments) is a
/// conflict, refused with both named so the caller sees which two disagree.
struct EgressOutputs: Equatable, Sendable {
    var files: [Livekit_EncodedFileOutput] = []
    var streams: [Livekit_StreamOutput] = []
    var segments: [Livekit_SegmentedFileOutput] = []
    /// LiveKit allows several image outputs; they have no legacy field.
    var images: [Livekit_ImageOutput] = []

    /// The legacy single output, whichever request it came from.
    enum Legacy: Equatable, Sendable {
        case file(Livekit_EncodedFileOutput)
        case stream(Livekit_StreamOutput)
        case segments(Livekit_SegmentedFileOutput)
    }

    init() {}

    init(legacy: Legacy?, files: [Livekit_EncodedFileOutput], streams: [Livekit_StreamOutput],
         segments: [Livekit_SegmentedFileOutput], images: [Livekit_ImageOutput]) throws(TwirpError) {
        var legacyFile: Livekit_EncodedFileOutput?, legacyStream: Livekit_StreamOutput?
        var legacySegments: Livekit_SegmentedFileOutput?
        switch legacy {
        case .file(let f)?: legacyFile = f
        case .stream(let s)?: legacyStream = s
        case .segments(let s)?: legacySegments = s
        case nil: break
        }
        self.files = try Self.merge(legacyFile, files, kind: "file")
        self.streams = try Self.merge(legacyStream, streams, kind: "stream")
        self.segments = try Self.merge(legacySegments, segments, kind: "segments")
        self.images = images
    }

    /// A room composite request's outputs.
    init(_ req: Livekit_RoomCompositeEgressRequest) throws(TwirpError) {
        let legacy: Legacy? = switch req.output {
        case .file(let f)?: .file(f)
        case .stream(let s)?: .stream(s)
        case .segments(let s)?: .segments(s)
        case nil: nil
        }
        try self.init(legacy: legacy, files: req.fileOutputs, streams: req.streamOutputs,
                      segments: req.segmentOutputs, images: req.imageOutputs)
    }

    /// A web request's outputs.
    init(_ req: Livekit_WebEgressRequest) throws(TwirpError) {
        let legacy: Legacy? = switch req.output {
        case .file(let f)?: .file(f)
        case .stream(let s)?: .stream(s)
        case .segments(let s)?: .segments(s)
        case nil: nil
        }
        try self.init(legacy: legacy, files: req.fileOutputs, streams: req.streamOutputs,
                      segments: req.segmentOutputs, images: req.imageOutputs)
    }

    /// A track composite request's outputs.
    init(_ req: Livekit_TrackCompositeEgressRequest) throws(TwirpError) {
        let legacy: Legacy? = switch req.output {
        case .file(let f)?: .file(f)
        case .stream(let s)?: .stream(s)
        case .segments(let s)?: .segments(s)
        case nil: nil
        }
        try self.init(legacy: legacy, files: req.fileOutputs, streams: req.streamOutputs,
                      segments: req.segmentOutputs, images: req.imageOutputs)
    }

    /// A participant request's outputs (it never had a legacy field).
    init(_ req: Livekit_ParticipantEgressRequest) throws(TwirpError) {
        try self.init(legacy: nil, files: req.fileOutputs, streams: req.streamOutputs,
                      segments: req.segmentOutputs, images: req.imageOutputs)
    }

    var isEmpty: Bool { files.isEmpty && streams.isEmpty && segments.isEmpty && images.isEmpty }

    /// The one output of a kind: the legacy value and the list together, equal entries counted once.
    /// More than one distinct value is a conflict; LiveKit's egress allows one output of each of
    /// these kinds per request.
    private static func merge<M: SwiftProtobuf.Message & Equatable>(
        _ legacy: M?, _ list: [M], kind: String
    ) throws(TwirpError) -> [M] {
        var distinct: [M] = []
        for output in (legacy.map { [$0] } ?? []) + list where !distinct.contains(output) {
            distinct.append(output)
        }
        guard distinct.count <= 1 else {
            let listName = kind == "segments" ? "segment_outputs" : "\(kind)_outputs"
            let named = distinct.prefix(2).map { describe($0) }.joined(separator: " and ")
            // Name where the two came from: the legacy field against the list, or the list alone.
            let origin = if let legacy, !list.contains(legacy) { "the legacy \(kind) field and \(listName) differ" }
                         else { "\(listName) holds \(distinct.count) different outputs" }
            throw TwirpError(.invalidArgument, "only one \(kind) output is allowed per egress, but \(origin): \(named)")
        }
        return distinct
    }

    /// An output as the caller wrote it: its protojson (camelCase names, enum names), which is
    /// what the Node SDK sent and what a reader of the error can match to their code.
    /// Upload credentials are replaced by placeholders first: error texts reach logs as well.
    static func describe(_ output: some SwiftProtobuf.Message) -> String {
        let shown: any SwiftProtobuf.Message = (output as? Livekit_EncodedFileOutput)?.redacted() ?? output
        return (try? shown.jsonString()) ?? "\(shown)"
    }
}
