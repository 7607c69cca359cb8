/// RTCP packet types (RFC 3550, RFC 4585, RFC 3611).
public enum RTCPPacketType {
    public static let senderReport: UInt8 = 200
    public static let receiverReport: UInt8 = 201
    public static let sourceDescription: UInt8 = 202
    public static let goodbye: UInt8 = 203
    public static let applicationDefined: UInt8 = 204
    /// Transport-layer feedback (RFC 4585): NACK (fmt 1), transport-wide CC (fmt 15).
    public static let transportFeedback: UInt8 = 205
    /// Payload-specific feedback (RFC 4585): PLI (fmt 1), FIR (fmt 4), REMB (fmt 15).
    public static let payloadFeedback: UInt8 = 206
    public static let extendedReport: UInt8 = 207
}

/// One RTCP packet inside a compound packet, as a non-copying view.
///
///     |V=2|P| RC/FMT  |      PT       |   length (32-bit words - 1)   |
public struct RTCPPacketView {
    /// The whole packet including the 4-byte common header and any padding.
    public let bytes: UnsafeRawBufferPointer
    /// Bytes after the common header, with padding removed.
    public let body: UnsafeRawBufferPointer

    /// Reception report count / source count / feedback message type, depending on `packetType`.
    public var count: UInt8 { bytes[0] & 0x1F }
    /// Alias of `count` for feedback packets, where RFC 4585 calls the field FMT.
    public var format: UInt8 { bytes[0] & 0x1F }
    public var packetType: UInt8 { bytes[1] }
    public var hasPadding: Bool { bytes[0] & 0x20 != 0 }

    /// Parses the packet that starts at the beginning of `buffer`; `bytes.count` tells the caller
    /// where the next one starts.
    public init(first buffer: UnsafeRawBufferPointer) throws(RTCPParseError) {
        guard buffer.count >= 4 else { throw .truncated }
        let b0 = buffer[0]
        guard b0 >> 6 == 2 else { throw .badVersion(b0 >> 6) }
        let length = (Int(buffer.u16(2)) + 1) * 4
        guard length <= buffer.count else { throw .truncated }
        var bodyLength = length - 4
        if b0 & 0x20 != 0 {
            let padding = Int(buffer[length - 1])
            guard padding > 0, padding <= bodyLength else { throw .badPadding }
            bodyLength -= padding
        }
        self.bytes = buffer.slice(0, length)
        self.body = buffer.slice(4, bodyLength)
    }
}

/// Walks the packets of a compound RTCP packet without copying or allocating.
///
/// `for view in RTCPCompoundIterator(bytes)` stops at the end or at the first malformed packet;
/// check `error` afterwards to tell the two apart (the valid packets before a bad one are still
/// useful: RFC 3550 receivers commonly act on them).
public struct RTCPCompoundIterator: IteratorProtocol, Sequence {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var offset = 0
    public private(set) var error: RTCPParseError?

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    public mutating func next() -> RTCPPacketView? {
        guard error == nil, offset < bytes.count else { return nil }
        do {
            let view = try RTCPPacketView(first: bytes.slice(offset, bytes.count - offset))
            offset += view.bytes.count
            return view
        } catch {
            self.error = error
            return nil
        }
    }
}

/// Helpers shared by the RTCP serializers.
enum RTCPWriter {
    /// Appends a common header with a placeholder length; returns the header's offset.
    static func beginPacket(count: UInt8, packetType: UInt8, to out: inout [UInt8]) -> Int {
        let start = out.count
        out.append(0x80 | (count & 0x1F))
        out.append(packetType)
        out.append16(0)
        return start
    }

    /// Zero-pads to a 32-bit boundary and fills in the length field.
    static func endPacket(start: Int, to out: inout [UInt8]) {
        while (out.count - start) % 4 != 0 { out.append(0) }
        // Clamped rather than trapping: a packet this large (256 KiB) is a caller bug, and it
        // could never be sent in one datagram anyway.
        out.set16(UInt16(clamping: (out.count - start) / 4 - 1), at: start + 2)
    }
}
