import Media

/// Rewrites the VP8 payload descriptor's picture id, TL0PICIDX and KEYIDX (RFC 7741 §4.2) so a
/// subscriber's decoder sees one continuous stream across simulcast switches and pauses. The
/// companion of `RTPMunger`, anchored at the same keyframe packets. A pure value.
///
/// Each field is extended to 64 bits per incoming stream (picture id with the width of the packet
/// that carries it, 7 or 15 bits) and mapped with a constant offset between anchors. At an anchor
/// the field continues at the highest value sent + 1: a keyframe is a new picture, has a new
/// TL0PICIDX (it is in temporal layer 0) and a new KEYIDX. The outgoing value is written with the
/// incoming packet's width (the descriptor cannot grow in place), so a 7-bit picture id wraps at
/// 128 while staying continuous.
public struct VP8Munger: Sendable {
    /// Values to write with `VP8PayloadDescriptor.rewrite`; nil for fields the packet lacks.
    public struct Rewrite: Sendable, Equatable {
        public var pictureID: UInt16?
        public var tl0PicIdx: UInt8?
        public var keyIndex: UInt8?

        public init(pictureID: UInt16? = nil, tl0PicIdx: UInt8? = nil, keyIndex: UInt8? = nil) {
            self.pictureID = pictureID
            self.tl0PicIdx = tl0PicIdx
            self.keyIndex = keyIndex
        }
    }

    /// One rewritten field: incoming stream extension, offset, highest value sent.
    struct Field: Sendable {
        var incoming = WrapAroundUnwrapper()
        var offset: Int64 = 0
        var anchored = false
        var highestOutgoing: Int64?

        mutating func anchor(_ value: UInt64, bits: Int) -> Int64 {
            incoming.reset()
            let extended = incoming.unwrap(value, bits: bits)
            let out = highestOutgoing.map { $0 + 1 } ?? extended
            offset = extended - out
            anchored = true
            highestOutgoing = out
            return out
        }

        mutating func map(_ value: UInt64, bits: Int) -> Int64 {
            // A field first seen after the anchor (e.g. TL0PICIDX appearing later) anchors here.
            guard anchored else { return anchor(value, bits: bits) }
            let out = incoming.unwrap(value, bits: bits) - offset
            if out > highestOutgoing ?? .min { highestOutgoing = out }
            return out
        }
    }

    var pictureID = Field()
    var tl0PicIdx = Field()
    var keyIndex = Field()

    public init() {}

    /// Starts a new stretch at the first packet of a keyframe (same moments as `RTPMunger.anchor`).
    public mutating func anchor(_ descriptor: VP8PayloadDescriptor) -> Rewrite {
        pictureID.anchored = false
        tl0PicIdx.anchored = false
        keyIndex.anchored = false
        return map(descriptor)
    }

    /// Maps a forwarded packet's fields. Late packets map with the same offsets (they never move
    /// the highest values).
    public mutating func map(_ descriptor: VP8PayloadDescriptor) -> Rewrite {
        var rewrite = Rewrite()
        if let pid = descriptor.pictureID {
            let bits = descriptor.pictureIDIs15Bit ? 15 : 7
            let out = pictureID.map(UInt64(pid), bits: bits)
            rewrite.pictureID = UInt16(truncatingIfNeeded: out) & (descriptor.pictureIDIs15Bit ? 0x7FFF : 0x7F)
        }
        if let tl0 = descriptor.tl0PicIdx {
            rewrite.tl0PicIdx = UInt8(truncatingIfNeeded: tl0PicIdx.map(UInt64(tl0), bits: 8))
        }
        if let key = descriptor.keyIndex {
            rewrite.keyIndex = UInt8(truncatingIfNeeded: keyIndex.map(UInt64(key), bits: 5)) & 0x1F
        }
        return rewrite
    }

    /// Stops the current stretch; the next forwarded packet must come through `anchor`.
    public mutating func unanchor() {
        pictureID.anchored = false
        tl0PicIdx.anchored = false
        keyIndex.anchored = false
    }
}
