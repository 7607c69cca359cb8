/// Picture loss indication (RFC 4585 §6.3.1: PSFB, FMT 1). The SFU sends it to a publisher when a
/// subscriber needs a keyframe (layer switch, decoder error), throttled per track.
public struct RTCPPictureLossIndication: Sendable, Equatable {
    public static let format: UInt8 = 1

    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32

    public init(senderSSRC: UInt32, mediaSSRC: UInt32) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
    }

    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        guard view.body.count >= 8 else { throw .badLength(packetType: view.packetType, format: view.format) }
        senderSSRC = view.body.u32(0)
        mediaSSRC = view.body.u32(4)
    }

    public static let length = 12

    public func write(to out: inout [UInt8]) {
        out.appendRTCP(length: Self.length) { write(into: &$0) }
    }

    /// Returns false (writing nothing) when it does not fit.
    @discardableResult
    public func write(into writer: inout RTCPBufferWriter) -> Bool {
        guard let body = writer.beginPacket(count: Self.format, packetType: RTCPPacketType.payloadFeedback,
                                            length: Self.length) else { return false }
        body.put32(senderSSRC, at: 0)
        body.put32(mediaSSRC, at: 4)
        return true
    }
}
