/// A writable view of an RTP packet for in-place header rewrite (the SFU's rewrite-send-restore:
/// change seq/timestamp/SSRC/PT/marker for one subscriber, protect, send, put the old values back).
///
/// Layout is validated once in `init`, so setters never need to re-check bounds. Only fields that
/// do not change the packet's length can be rewritten here; anything that grows the header goes
/// through `RTPPacketBuilder`.
public struct MutableRTPPacket {
    public let bytes: UnsafeMutableRawBufferPointer
    /// The same packet as a read-only view (offsets, extensions, payload).
    public let packet: RTPPacket

    @inlinable
    public init(_ bytes: UnsafeMutableRawBufferPointer) throws(RTPParseError) {
        self.packet = try RTPPacket(UnsafeRawBufferPointer(bytes))
        self.bytes = bytes
    }

    @inlinable
    public var marker: Bool {
        get { packet.marker }
        nonmutating set { bytes[1] = (bytes[1] & 0x7F) | (newValue ? 0x80 : 0) }
    }

    @inlinable
    public var payloadType: UInt8 {
        get { packet.payloadType }
        nonmutating set { bytes[1] = (bytes[1] & 0x80) | (newValue & 0x7F) }
    }

    @inlinable
    public var sequenceNumber: UInt16 {
        get { packet.sequenceNumber }
        nonmutating set { bytes.put16(newValue, at: 2) }
    }

    @inlinable
    public var timestamp: UInt32 {
        get { packet.timestamp }
        nonmutating set { bytes.put32(newValue, at: 4) }
    }

    @inlinable
    public var ssrc: UInt32 {
        get { packet.ssrc }
        nonmutating set { bytes.put32(newValue, at: 8) }
    }

    /// Writable payload (without padding), e.g. for rewriting a VP8 picture id in place.
    @inlinable
    public var payload: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: bytes[packet.payloadOffset..<(packet.payloadOffset + packet.payloadLength)])
    }

    /// Overwrites the value of extension `id` when it exists with exactly `value.count` bytes.
    /// Returns false (and changes nothing) otherwise: resizing would shift the payload.
    @inlinable
    @discardableResult
    public func setHeaderExtension(id: UInt8, to value: UnsafeRawBufferPointer) -> Bool {
        guard let element = packet.headerExtensions.first(id: id), element.data.count == value.count else { return false }
        for i in 0..<value.count { bytes[element.dataOffset + i] = value[i] }
        return true
    }

    /// Rewrites the abs-send-time value (24 bits) if the extension is present.
    @inlinable
    @discardableResult
    public func setAbsSendTime(_ value: UInt32, id: UInt8) -> Bool {
        guard let element = packet.headerExtensions.first(id: id), element.data.count == 3 else { return false }
        bytes.put24(value & 0xFF_FFFF, at: element.dataOffset)
        return true
    }

    /// Rewrites the transport-wide sequence number if present. An SFU stamps its own per-subscriber
    /// numbering here so the subscriber's TWCC feedback describes the SFU->subscriber path.
    @inlinable
    @discardableResult
    public func setTransportSequenceNumber(_ value: UInt16, id: UInt8) -> Bool {
        guard let element = packet.headerExtensions.first(id: id), element.data.count == 2 else { return false }
        bytes.put16(value, at: element.dataOffset)
        return true
    }
}
