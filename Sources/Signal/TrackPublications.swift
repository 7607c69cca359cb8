import LiveKitProto
import SFU

/// A participant's tracks as LiveKit signalling sees them.
///
/// A client announces a track with AddTrackRequest (keyed by its client id `cid`) before its SDP
/// offer; the server answers with a TrackInfo carrying the new `TR_` sid. The track is
/// *published*, and shown to others, only once the media arrives in the offer and is matched
/// to the pending request (by msid track id == cid, else the first pending track of the kind).
public struct TrackPublications: Sendable {
    public enum Refusal: Error, Equatable, Sendable {
        case notAllowed(String)
        case invalid(String)
    }

    public private(set) var pending: [String: Livekit_TrackInfo] = [:]  // by cid
    public private(set) var published: [String: Livekit_TrackInfo] = [:]  // by sid
    /// Order of pending requests, for LiveKit's "first pending track of the same kind" rule.
    private var pendingOrder: [String] = []

    public init() {}

    /// Registers an AddTrackRequest under the participant's permission.
    public mutating func add(_ request: Livekit_AddTrackRequest, permission: Livekit_ParticipantPermission)
        -> Result<Livekit_TrackInfo, Refusal>
    {
        guard permission.canPublish else { return .failure(.notAllowed("the token does not allow publishing")) }
        if !permission.canPublishSources.isEmpty, !permission.canPublishSources.contains(request.source) {
            return .failure(.notAllowed("the token does not allow publishing \(request.source) tracks"))
        }
        guard !request.cid.isEmpty else { return .failure(.invalid("AddTrackRequest without cid")) }
        guard request.type == .audio || request.type == .video else {
            return .failure(.invalid("unsupported track type \(request.type)"))
        }
        if let existing = pending[request.cid] { return .success(existing) }  // a retried request
        var track = Livekit_TrackInfo()
        track.sid = request.sid.hasPrefix(SessionID.trackPrefix) ? request.sid : SessionID.track()
        track.type = request.type
        track.name = request.name
        track.source = request.source
        track.muted = request.muted
        track.width = request.width
        track.height = request.height
        track.layers = request.layers
        track.simulcast = request.layers.count > 1
        track.disableDtx = request.disableDtx
        track.stereo = request.stereo
        track.disableRed = request.disableRed
        track.stream = request.stream
        track.codecs = request.simulcastCodecs.map { codec in
            Livekit_SimulcastCodecInfo.with {
                $0.mimeType = Self.mimeType(codec.codec, type: request.type)
                $0.cid = codec.cid
                $0.layers = codec.layers.isEmpty ? request.layers : codec.layers
            }
        }
        pending[request.cid] = track
        pendingOrder.append(request.cid)
        return .success(track)
    }

    /// Matches media found in an SDP offer to a pending track and marks it published.
    /// `msidTrackID` is the track id of the m-line's msid; `type` its kind; `mid` its mid.
    public mutating func publish(msidTrackID: String, type: Livekit_TrackType, mid: String, mimeType: String)
        -> Livekit_TrackInfo?
    {
        let cid = pending[msidTrackID] != nil ? msidTrackID
            : pendingOrder.first { pending[$0]?.type == type }
        guard let cid, var track = pending.removeValue(forKey: cid) else { return nil }
        pendingOrder.removeAll { $0 == cid }
        track.mid = mid
        track.mimeType = mimeType
        published[track.sid] = track
        return track
    }

    public mutating func setMuted(sid: String, _ muted: Bool) -> Livekit_TrackInfo? {
        guard var track = published[sid] else { return nil }
        track.muted = muted
        published[sid] = track
        return track
    }

    public mutating func unpublish(sid: String) -> Livekit_TrackInfo? {
        published.removeValue(forKey: sid)
    }

    /// Published tracks in a stable order, for ParticipantInfo.tracks.
    public var publishedInOrder: [Livekit_TrackInfo] { published.values.sorted { $0.sid < $1.sid } }

    /// LiveKit's mime type for a codec name as SDKs send it ("vp8", "h264", "opus").
    static func mimeType(_ codec: String, type: Livekit_TrackType) -> String {
        let lower = codec.lowercased()
        if lower.contains("/") { return codec }
        switch lower {
        case "": return ""
        case "vp8": return "video/VP8"
        case "vp9": return "video/VP9"
        case "h264": return "video/H264"
        case "av1": return "video/AV1"
        case "opus": return "audio/opus"
        case "red": return "audio/red"
        default: return (type == .audio ? "audio/" : "video/") + codec
        }
    }
}
