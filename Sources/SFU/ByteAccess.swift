// Big-endian reads/writes for the few RTCP fields the SFU touches directly (Media keeps its own
// helpers internal). Callers check bounds first.

extension UnsafeRawBufferPointer {
    @inline(__always)
    func sfuU16(_ offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    @inline(__always)
    func sfuU32(_ offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func sfuPut16(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(truncatingIfNeeded: value >> 8)
        self[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    @inline(__always)
    func sfuPut32(_ value: UInt32, at offset: Int) {
        self[offset] = UInt8(truncatingIfNeeded: value >> 24)
        self[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        self[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        self[offset + 3] = UInt8(truncatingIfNeeded: value)
    }
}

/// Small RTCP packets the SFU writes itself, built on the stack (no allocation).
enum RTCPStackWriter {
    /// PLI (RFC 4585 §6.3.1): 12 bytes.
    static func withPLI<R>(sender: UInt32, media: UInt32, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: 12, alignment: 4) { buf in
            buf[0] = 0x81; buf[1] = 206; buf.sfuPut16(2, at: 2)
            buf.sfuPut32(sender, at: 4)
            buf.sfuPut32(media, at: 8)
            return body(UnsafeRawBufferPointer(buf))
        }
    }

    /// Sender report without report blocks (RFC 3550 §6.4.1): 28 bytes.
    static func withSenderReport<R>(ssrc: UInt32, ntp: UInt64, rtpTimestamp: UInt32, packets: UInt32, octets: UInt32,
                                    _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: 28, alignment: 4) { buf in
            buf[0] = 0x80; buf[1] = 200; buf.sfuPut16(6, at: 2)
            buf.sfuPut32(ssrc, at: 4)
            buf.sfuPut32(UInt32(truncatingIfNeeded: ntp >> 32), at: 8)
            buf.sfuPut32(UInt32(truncatingIfNeeded: ntp), at: 12)
            buf.sfuPut32(rtpTimestamp, at: 16)
            buf.sfuPut32(packets, at: 20)
            buf.sfuPut32(octets, at: 24)
            return body(UnsafeRawBufferPointer(buf))
        }
    }

    /// BYE for one source (RFC 3550 §6.6): 8 bytes.
    static func withGoodbye<R>(ssrc: UInt32, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: 8, alignment: 4) { buf in
            buf[0] = 0x81; buf[1] = 203; buf.sfuPut16(1, at: 2)
            buf.sfuPut32(ssrc, at: 4)
            return body(UnsafeRawBufferPointer(buf))
        }
    }
}
