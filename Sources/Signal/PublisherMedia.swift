import LiveKitProto

/// A new m-line of a publisher's SDP offer, to be matched with the AddTrackRequest it belongs to.
public struct PublisherMedia: Sendable, Equatable {
    /// Index of the m-line in the SDP.
    public var line: Int
    public var mid: String
    public var type: Livekit_TrackType
    /// The track id of the m-line's msid (the client's `cid`).
    public var msidTrackID: String
    /// "video/VP8", "audio/opus", ...
    public var mimeType: String

    public init(line: Int, mid: String, type: Livekit_TrackType, msidTrackID: String, mimeType: String) {
        self.line = line
        self.mid = mid
        self.type = type
        self.msidTrackID = msidTrackID
        self.mimeType = mimeType
    }
}
