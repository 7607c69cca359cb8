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

    /// Generic NACK (RFC 4585 §6.2.1) with one FCI entry: 16 bytes.
    static func withNACK<R>(sender: UInt32, media: UInt32, packetID: UInt16, bitmask: UInt16,
                            _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: 16, alignment: 4) { buf in
            buf[0] = 0x81; buf[1] = 205; buf.sfuPut16(3, at: 2)
            buf.sfuPut32(sender, at: 4)
            buf.sfuPut32(media, at: 8)
            buf.sfuPut16(packetID, at: 12)
            buf.sfuPut16(bitmask, at: 14)
            return body(UnsafeRawBufferPointer(buf))
        }
    }

    /// Receiver report with one report block (RFC 3550 §6.4.2): 32 bytes.
    static func withReceiverReport<R>(sender: UInt32, block: ReceptionStatistics.Block,
                                      _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 4) { buf in
            buf[0] = 0x81; buf[1] = 201; buf.sfuPut16(7, at: 2)
            buf.sfuPut32(sender, at: 4)
            buf.sfuPut32(block.ssrc, at: 8)
            buf.sfuPut32(UInt32(block.fractionLost) << 24 | (block.cumulativeLost & 0xFF_FFFF), at: 12)
            buf.sfuPut32(block.extendedHighestSequence, at: 16)
            buf.sfuPut32(block.jitter, at: 20)
            buf.sfuPut32(block.lastSenderReport, at: 24)
            buf.sfuPut32(block.delaySinceLastSenderReport, at: 28)
            return body(UnsafeRawBufferPointer(buf))
        }
    }

    /// REMB (draft-alvestrand-rmcat-remb) for up to 8 SSRCs.
    static func withREMB<R>(sender: UInt32, bitrate: UInt64, ssrcs: [UInt32], _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let count = min(ssrcs.count, 8)
        let size = 20 + 4 * count
        return withUnsafeTemporaryAllocation(byteCount: size, alignment: 4) { buf in
            buf[0] = 0x8F; buf[1] = 206; buf.sfuPut16(UInt16(size / 4 - 1), at: 2)
            buf.sfuPut32(sender, at: 4)
            buf.sfuPut32(0, at: 8)
            buf[12] = 0x52; buf[13] = 0x45; buf[14] = 0x4D; buf[15] = 0x42  // "REMB"
            var exponent: UInt32 = 0
            var mantissa = bitrate
            while mantissa > 0x3FFFF { mantissa >>= 1; exponent += 1 }
            buf.sfuPut32(UInt32(count) << 24 | exponent << 18 | UInt32(mantissa), at: 16)
            for index in 0..<count { buf.sfuPut32(ssrcs[index], at: 20 + 4 * index) }
            return body(UnsafeRawBufferPointer(buf))
        }
    }
}
