/// What the SFU needs from a peer's media transport: send plain RTP/RTCP (the transport protects
/// and sends them). The WebRTC layer's `PeerConnection` provides this through a small adapter in
/// the server, so this target never imports WebRTC's concrete types.
///
/// Called only on the room's executor thread. The bytes are valid only during the call and must
/// not be modified or kept (rewrite-send-restore relies on it).
public protocol MediaTransport: AnyObject {
    @discardableResult
    func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool
    @discardableResult
    func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool
}

/// Kind of a media track.
public enum TrackKind: String, Sendable, Equatable {
    case audio, video
}

/// The codec of a published track as negotiated with its publisher.
public struct TrackCodec: Sendable, Equatable {
    /// Encoding name as in the rtpmap ("VP8", "H264", "opus").
    public var name: String
    public var payloadType: UInt8
    public var clockRate: UInt32
    public var channels: Int?
    /// fmtp parameters verbatim ("" when none).
    public var parameters: String

    public init(name: String, payloadType: UInt8, clockRate: UInt32, channels: Int? = nil, parameters: String = "") {
        self.name = name
        self.payloadType = payloadType
        self.clockRate = clockRate
        self.channels = channels
        self.parameters = parameters
    }

    /// Lower-cased name compared once; not for the per-packet path (PublishedTrack caches it).
    public var isVP8: Bool { name.lowercased() == "vp8" }
    public var isH264: Bool { name.lowercased() == "h264" }
}
