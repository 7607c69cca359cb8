import Media

/// Writes a forwarder's VP8 rewrite (picture id, TL0PICIDX, key index) into a packet's payload
/// descriptor in place, and puts the original bytes back after the send. The field widths never
/// change (a 7-bit picture id stays 7 bits), so the packet keeps its length.
enum VP8DescriptorRewriter {
    /// The descriptor bytes a rewrite replaced (at most 4: a 15-bit picture id, TL0PICIDX and
    /// the TID/Y/KEYIDX byte).
    struct Saved {
        var pictureID: (UInt8, UInt8) = (0, 0)
        var tl0PicIdx: UInt8 = 0
        var tidKeyIdx: UInt8 = 0
        var wrote = false
    }

    @inline(__always)
    static func apply(_ rewrite: VP8Munger.Rewrite, to payload: UnsafeMutableRawBufferPointer,
                      descriptor: VP8PayloadDescriptor) -> Saved {
        var saved = Saved()
        guard payload.count >= descriptor.length else { return saved }
        saved.wrote = true
        if let offset = descriptor.pictureIDOffset {
            saved.pictureID = (payload[offset], descriptor.pictureIDIs15Bit ? payload[offset + 1] : 0)
            if let id = rewrite.pictureID {
                if descriptor.pictureIDIs15Bit {
                    payload[offset] = 0x80 | UInt8((id >> 8) & 0x7F)
                    payload[offset + 1] = UInt8(id & 0xFF)
                } else {
                    payload[offset] = UInt8(id & 0x7F)
                }
            }
        }
        if let offset = descriptor.tl0PicIdxOffset {
            saved.tl0PicIdx = payload[offset]
            if let value = rewrite.tl0PicIdx { payload[offset] = value }
        }
        if let offset = descriptor.tidKeyIdxOffset {
            saved.tidKeyIdx = payload[offset]
            if let key = rewrite.keyIndex { payload[offset] = (payload[offset] & 0xE0) | (key & 0x1F) }
        }
        return saved
    }

    @inline(__always)
    static func restore(_ saved: Saved, in payload: UnsafeMutableRawBufferPointer, descriptor: VP8PayloadDescriptor) {
        guard saved.wrote else { return }
        if let offset = descriptor.pictureIDOffset {
            payload[offset] = saved.pictureID.0
            if descriptor.pictureIDIs15Bit { payload[offset + 1] = saved.pictureID.1 }
        }
        if let offset = descriptor.tl0PicIdxOffset { payload[offset] = saved.tl0PicIdx }
        if let offset = descriptor.tidKeyIdxOffset { payload[offset] = saved.tidKeyIdx }
    }
}
