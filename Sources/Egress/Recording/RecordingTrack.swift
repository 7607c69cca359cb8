import SFU

/// One track to record, as negotiated with its publisher.
public struct RecordingTrack: Sendable, Equatable {
    public var kind: TrackKind
    public var codec: RecordingCodec
    /// RTP clock rate (90000 for video, 48000 for Opus).
    public var clockRate: Int
    /// Packets with another payload type (RTX, RED, padding) are ignored.
    public var payloadType: UInt8
    /// Audio channels (Opus in WebRTC always says 2).
    public var channels: Int

    public init(kind: TrackKind, codec: RecordingCodec, clockRate: Int, payloadType: UInt8, channels: Int = 2) {
        self.kind = kind
        self.codec = codec
        self.clockRate = clockRate
        self.payloadType = payloadType
        self.channels = channels
    }

    /// From the codec name in the SDP; throws `.unsupportedCodec` for codecs we cannot record.
    public init(kind: TrackKind, codecName: String, clockRate: Int, payloadType: UInt8,
                channels: Int = 2) throws(RecordingError) {
        guard let codec = RecordingCodec(name: codecName) else { throw .unsupportedCodec(codecName) }
        guard codec.isVideo == (kind == .video), clockRate > 0 else {
            throw .invalidTrack("\(kind.rawValue) track with codec \(codecName) at \(clockRate) Hz")
        }
        self.init(kind: kind, codec: codec, clockRate: clockRate, payloadType: payloadType, channels: channels)
    }

    /// From a published track's negotiated codec.
    public init(kind: TrackKind, codec: TrackCodec) throws(RecordingError) {
        try self.init(kind: kind, codecName: codec.name, clockRate: Int(codec.clockRate),
                      payloadType: codec.payloadType, channels: codec.channels ?? 2)
    }
}
