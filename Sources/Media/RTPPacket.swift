/// A read-only, non-copying view of one RTP packet (RFC 3550 §5.1) over bytes someone else owns.
///
/// Parsing validates the layout once and records offsets; every field accessor then reads straight
/// from the buffer. The view neither copies nor allocates, so it is safe on the per-packet path.
/// It is deliberately not `Sendable`: it borrows memory that is only valid for the duration of the
/// callback that received it.
///
///      0                   1                   2                   3
///     |V=2|P|X|  CC   |M|     PT      |       sequence number         |
///     |                           timestamp                           |
///     |           synchronization source (SSRC) identifier            |
///     |            contributing source (CSRC) identifiers  (CC x 32)  |
///     |  profile (0xBEDE / 0x100x)    |  length in 32-bit words       |  (if X)
///     |                    header extension ...                       |
///     |                    payload ...            | padding | count   |
public struct RTPPacket {
    /// The whole packet, as handed to `init`.
    public let bytes: UnsafeRawBufferPointer
    /// Offset of the header-extension body (just after its 4-byte header), or -1 when X is clear.
    public let extensionOffset: Int
    /// Length of the header-extension body in bytes (a multiple of 4).
    public let extensionLength: Int
    /// Offset of the first payload byte; equals the full header length.
    public let payloadOffset: Int
    /// Bytes of padding at the end (including the count byte); 0 when P is clear.
    public let paddingLength: Int

    public static let fixedHeaderLength = 12

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) throws(RTPParseError) {
        guard bytes.count >= 12 else { throw .truncated }
        let b0 = bytes[0]
        guard b0 >> 6 == 2 else { throw .badVersion(b0 >> 6) }
        var offset = 12 + Int(b0 & 0x0F) * 4
        guard offset <= bytes.count else { throw .truncated }
        var extOffset = -1
        var extLength = 0
        if b0 & 0x10 != 0 {
            guard offset + 4 <= bytes.count else { throw .truncated }
            extLength = Int(bytes.u16(offset + 2)) * 4
            extOffset = offset + 4
            offset = extOffset + extLength
            guard offset <= bytes.count else { throw .badExtensionLength }
        }
        var padding = 0
        if b0 & 0x20 != 0 {
            guard bytes.count > offset else { throw .badPadding }
            padding = Int(bytes[bytes.count - 1])
            guard padding > 0, padding <= bytes.count - offset else { throw .badPadding }
        }
        self.bytes = bytes
        self.extensionOffset = extOffset
        self.extensionLength = extLength
        self.payloadOffset = offset
        self.paddingLength = padding
    }

    // MARK: Fixed header

    @inlinable public var version: UInt8 { bytes[0] >> 6 }
    @inlinable public var hasPadding: Bool { bytes[0] & 0x20 != 0 }
    @inlinable public var hasExtension: Bool { bytes[0] & 0x10 != 0 }
    @inlinable public var csrcCount: Int { Int(bytes[0] & 0x0F) }
    @inlinable public var marker: Bool { bytes[1] & 0x80 != 0 }
    @inlinable public var payloadType: UInt8 { bytes[1] & 0x7F }
    @inlinable public var sequenceNumber: UInt16 { bytes.u16(2) }
    @inlinable public var timestamp: UInt32 { bytes.u32(4) }
    @inlinable public var ssrc: UInt32 { bytes.u32(8) }

    /// The CSRC at `index` (0 ..< csrcCount), or nil when out of range.
    @inlinable
    public func csrc(at index: Int) -> UInt32? {
        guard index >= 0, index < csrcCount else { return nil }
        return bytes.u32(12 + index * 4)
    }

    // MARK: Payload

    /// Payload without padding. Empty for padding-only packets (bandwidth probes).
    @inlinable
    public var payload: UnsafeRawBufferPointer {
        bytes.slice(payloadOffset, payloadLength)
    }

    @inlinable
    public var payloadLength: Int { bytes.count - payloadOffset - paddingLength }

    /// Header length (fixed + CSRCs + extension), i.e. the offset of the payload.
    @inlinable public var headerLength: Int { payloadOffset }

    // MARK: Header extensions

    /// The extension block's profile: 0xBEDE (one-byte, RFC 8285 §4.2) or 0x100x (two-byte, §4.3).
    /// nil when X is clear.
    @inlinable
    public var extensionProfile: UInt16? {
        extensionOffset < 0 ? nil : bytes.u16(extensionOffset - 4)
    }

    /// Elements of the header extension block, in wire order. Empty when X is clear or the
    /// profile is neither one-byte nor two-byte.
    @inlinable
    public var headerExtensions: RTPHeaderExtensions {
        guard let profile = extensionProfile else { return RTPHeaderExtensions(packet: bytes, start: 0, end: 0, form: .none) }
        let form: RTPHeaderExtensions.Form
        if profile == RTPHeaderExtensions.oneByteProfile {
            form = .oneByte
        } else if profile & 0xFFF0 == RTPHeaderExtensions.twoByteProfile {
            form = .twoByte
        } else {
            form = .none
        }
        return RTPHeaderExtensions(packet: bytes, start: extensionOffset, end: extensionOffset + extensionLength, form: form)
    }

    /// The data of the header extension with `id`, or nil if absent.
    @inlinable
    public func headerExtension(id: UInt8) -> UnsafeRawBufferPointer? {
        headerExtensions.first(id: id)?.data
    }
}
