/// One element of an RFC 8285 header extension block.
public struct RTPHeaderExtensionElement {
    /// Local identifier negotiated with `a=extmap` (1...14 one-byte, 1...255 two-byte).
    public let id: UInt8
    /// Offset of `data` inside the whole RTP packet, so a `MutableRTPPacket` can rewrite it in place.
    public let dataOffset: Int
    /// The element's value bytes.
    public let data: UnsafeRawBufferPointer

    @inlinable
    init(id: UInt8, dataOffset: Int, data: UnsafeRawBufferPointer) {
        self.id = id
        self.dataOffset = dataOffset
        self.data = data
    }
}

/// The elements of a packet's header extension block, iterated lazily over the packet bytes.
///
/// Malformed trailing elements end iteration rather than trap: RFC 8285 says a receiver that
/// cannot parse an element must ignore the rest of the block.
public struct RTPHeaderExtensions: Sequence {
    public static let oneByteProfile: UInt16 = 0xBEDE
    /// The low 4 bits ("appbits") may carry anything; match with `profile & 0xFFF0`.
    public static let twoByteProfile: UInt16 = 0x1000

    public enum Form: Sendable {
        case none, oneByte, twoByte
    }

    @usableFromInline let packet: UnsafeRawBufferPointer
    @usableFromInline let start: Int
    @usableFromInline let end: Int
    public let form: Form

    @inlinable
    init(packet: UnsafeRawBufferPointer, start: Int, end: Int, form: Form) {
        self.packet = packet
        self.start = start
        self.end = end
        self.form = form
    }

    public struct Iterator: IteratorProtocol {
        @usableFromInline let packet: UnsafeRawBufferPointer
        @usableFromInline var offset: Int
        @usableFromInline let end: Int
        @usableFromInline let form: Form

        @inlinable
        init(packet: UnsafeRawBufferPointer, offset: Int, end: Int, form: Form) {
            self.packet = packet
            self.offset = offset
            self.end = end
            self.form = form
        }

        @inlinable
        public mutating func next() -> RTPHeaderExtensionElement? {
            switch form {
            case .none:
                return nil
            case .oneByte:
                while offset < end {
                    let b = packet[offset]
                    if b == 0 { offset += 1; continue }  // padding between elements
                    let id = b >> 4
                    // id 15 is reserved: "stop parsing" per RFC 8285 §4.2.
                    if id == 15 { offset = end; return nil }
                    let length = Int(b & 0x0F) + 1
                    let dataOffset = offset + 1
                    guard dataOffset + length <= end else { offset = end; return nil }
                    offset = dataOffset + length
                    return RTPHeaderExtensionElement(id: id, dataOffset: dataOffset, data: packet.slice(dataOffset, length))
                }
                return nil
            case .twoByte:
                while offset < end {
                    let id = packet[offset]
                    if id == 0 { offset += 1; continue }
                    guard offset + 2 <= end else { offset = end; return nil }
                    let length = Int(packet[offset + 1])
                    let dataOffset = offset + 2
                    guard dataOffset + length <= end else { offset = end; return nil }
                    offset = dataOffset + length
                    return RTPHeaderExtensionElement(id: id, dataOffset: dataOffset, data: packet.slice(dataOffset, length))
                }
                return nil
            }
        }
    }

    @inlinable
    public func makeIterator() -> Iterator {
        Iterator(packet: packet, offset: start, end: end, form: form)
    }

    /// The first element with `id`; ids 0 and (one-byte form) 15 never match.
    @inlinable
    public func first(id: UInt8) -> RTPHeaderExtensionElement? {
        guard id != 0 else { return nil }
        for element in self where element.id == id { return element }
        return nil
    }
}

/// Well-known header extension URIs as they appear in `a=extmap`.
public enum RTPHeaderExtensionURI {
    public static let mid = "urn:ietf:params:rtp-hdrext:sdes:mid"
    public static let rid = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
    public static let repairedRid = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
    public static let absSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    public static let transportWideCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    public static let audioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
    public static let videoOrientation = "urn:3gpp:video-orientation"
    public static let timestampOffset = "urn:ietf:params:rtp-hdrext:toffset"
    public static let playoutDelay = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
    public static let dependencyDescriptor = "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"
}

/// RFC 6464 client-to-mixer audio level.
public struct RTPAudioLevel: Sendable, Equatable {
    /// V flag: the sender's voice-activity detector thinks this packet contains speech.
    public var voiceActivity: Bool
    /// Level in -dBov, 0 (loudest) ... 127 (silence).
    public var level: UInt8

    public init(voiceActivity: Bool, level: UInt8) {
        self.voiceActivity = voiceActivity
        self.level = level & 0x7F
    }

    public init?(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 1 else { return nil }
        self.init(voiceActivity: data[0] & 0x80 != 0, level: data[0] & 0x7F)
    }

    public var byte: UInt8 { (voiceActivity ? 0x80 : 0) | (level & 0x7F) }
}

/// 3GPP TS 26.114 coordination of video orientation (CVO): `0 0 0 0 C F R1 R0`.
public struct RTPVideoOrientation: Sendable, Equatable {
    /// C: true when the back-facing camera captured the frame.
    public var backFacingCamera: Bool
    /// F: horizontal flip applied before rotation.
    public var horizontalFlip: Bool
    /// Clockwise rotation the receiver must apply: 0, 90, 180 or 270.
    public var rotationDegrees: Int

    public init(backFacingCamera: Bool = false, horizontalFlip: Bool = false, rotationDegrees: Int) {
        self.backFacingCamera = backFacingCamera
        self.horizontalFlip = horizontalFlip
        self.rotationDegrees = ((rotationDegrees % 360 + 360) % 360) / 90 * 90
    }

    public init?(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 1 else { return nil }
        let b = data[0]
        self.init(backFacingCamera: b & 0x08 != 0, horizontalFlip: b & 0x04 != 0, rotationDegrees: Int(b & 0x03) * 90)
    }

    public var byte: UInt8 {
        (backFacingCamera ? 0x08 : 0) | (horizontalFlip ? 0x04 : 0) | UInt8(rotationDegrees / 90 & 0x03)
    }
}

/// Typed readers for the extensions an SFU looks at. Each takes the negotiated id (from SDP),
/// because ids are per-session, not fixed.
extension RTPPacket {
    /// `a=extmap ... sdes:mid`. Strings up to 15 UTF-8 bytes are stored inline by the stdlib, so
    /// typical mids/rids ("0", "q", "h", "f") do not allocate.
    @inlinable
    public func mid(id: UInt8) -> String? { stringExtension(id: id) }

    /// RID (RFC 8852 `rtp-stream-id`): which simulcast layer this packet belongs to.
    @inlinable
    public func rid(id: UInt8) -> String? { stringExtension(id: id) }

    /// Repaired RID: on RTX packets, the layer the retransmission repairs.
    @inlinable
    public func repairedRid(id: UInt8) -> String? { stringExtension(id: id) }

    @inlinable
    func stringExtension(id: UInt8) -> String? {
        guard let data = headerExtension(id: id), data.count > 0 else { return nil }
        // Senders may pad with NULs in one-byte form; the value stops at the first NUL.
        var length = data.count
        while length > 0, data[length - 1] == 0 { length -= 1 }
        guard length > 0 else { return nil }
        return String(decoding: data.slice(0, length), as: UTF8.self)
    }

    /// abs-send-time: 24-bit 6.18 fixed-point seconds.
    @inlinable
    public func absSendTime(id: UInt8) -> UInt32? {
        guard let data = headerExtension(id: id), data.count >= 3 else { return nil }
        return data.u24(0)
    }

    /// Transport-wide congestion control sequence number.
    @inlinable
    public func transportSequenceNumber(id: UInt8) -> UInt16? {
        guard let data = headerExtension(id: id), data.count >= 2 else { return nil }
        return data.u16(0)
    }

    @inlinable
    public func audioLevel(id: UInt8) -> RTPAudioLevel? {
        headerExtension(id: id).flatMap(RTPAudioLevel.init)
    }

    @inlinable
    public func videoOrientation(id: UInt8) -> RTPVideoOrientation? {
        headerExtension(id: id).flatMap(RTPVideoOrientation.init)
    }
}
