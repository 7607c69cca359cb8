/// Writes RTCP packets back to back into memory the caller owns (a stack buffer, or one allocated
/// once): how the media thread builds the feedback it sends without allocating. The packet
/// values' `write(to: inout [UInt8])` serializers go through the same code, so there is one
/// encoder per packet type.
///
/// A packet that does not fit is not written at all (`overflowed` tells), so `written` is always
/// a valid compound packet.
public struct RTCPBufferWriter {
    @usableFromInline let buffer: UnsafeMutableRawBufferPointer
    @usableFromInline var used = 0
    @usableFromInline var didOverflow = false

    public init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    /// Bytes written so far.
    public var count: Int { used }
    /// True once a packet was refused for lack of room.
    public var overflowed: Bool { didOverflow }
    /// The packets written so far, as one compound packet.
    public var written: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0..<used]) }

    /// Starts over, for the next compound packet.
    public mutating func reset() {
        used = 0
        didOverflow = false
    }

    /// Claims `length` bytes (a multiple of 4, header included), writes the common header and
    /// returns the body to fill, zeroed. Nil when it does not fit (or the length field cannot say it).
    @inlinable
    mutating func beginPacket(count: UInt8, packetType: UInt8, length: Int) -> UnsafeMutableRawBufferPointer? {
        guard length >= 4, length % 4 == 0, length <= 0x1_0000 * 4, length <= buffer.count - used else {
            didOverflow = true
            return nil
        }
        let packet = UnsafeMutableRawBufferPointer(rebasing: buffer[used..<(used + length)])
        packet.initializeMemory(as: UInt8.self, repeating: 0)
        packet[0] = 0x80 | (count & 0x1F)
        packet[1] = packetType
        packet.put16(UInt16(length / 4 - 1), at: 2)
        used += length
        return UnsafeMutableRawBufferPointer(rebasing: packet[4...])
    }
}

extension Array where Element == UInt8 {
    /// Appends one packet of exactly `length` bytes written by `write` (the array serializers'
    /// bridge to `RTCPBufferWriter`).
    mutating func appendRTCP(length: Int, _ write: (inout RTCPBufferWriter) -> Bool) {
        let start = count
        append(contentsOf: repeatElement(0, count: length))
        let done = withUnsafeMutableBytes { all -> Bool in
            var writer = RTCPBufferWriter(UnsafeMutableRawBufferPointer(rebasing: all[start...]))
            return write(&writer) && writer.count == length
        }
        precondition(done, "RTCP serializer length mismatch")
    }
}
