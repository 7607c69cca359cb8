/// The VP8 RTP payload descriptor (RFC 7741 §4.2) at the start of every VP8 RTP payload.
///
///          0 1 2 3 4 5 6 7
///         |X|R|N|S|R| PID |   (required)
///     X:  |I|L|T|K| RSV   |   (optional)
///     I:  |M| PictureID   |   (optional; M=1 => 15-bit id, one more byte)
///     L:  |   TL0PICIDX   |   (optional)
///     T/K:|TID|Y| KEYIDX  |   (optional)
///
/// A forwarding SFU rewrites picture id, TL0PICIDX and KEYIDX so a subscriber sees one continuous
/// stream across simulcast switches; the offsets recorded here let it do that in place.
public struct VP8PayloadDescriptor: Sendable, Equatable {
    /// N: the frame can be discarded without affecting other frames.
    public var nonReferenceFrame: Bool
    /// S: this packet starts a VP8 partition.
    public var startOfPartition: Bool
    /// PID: the partition index (0 for the first partition).
    public var partitionIndex: UInt8
    public var pictureID: UInt16?
    /// M bit: the picture id is 15 bits wide (2 bytes) rather than 7 (1 byte). Kept on rewrite,
    /// since widening would shift the payload.
    public var pictureIDIs15Bit: Bool
    public var tl0PicIdx: UInt8?
    /// TID: temporal layer (present when the T bit is set).
    public var temporalLayerID: UInt8?
    /// Y: layer sync bit (meaningful with TID).
    public var layerSync: Bool
    /// KEYIDX (present when the K bit is set).
    public var keyIndex: UInt8?

    /// Descriptor length in bytes; the VP8 payload (frame data) starts here.
    public private(set) var length: Int = 0
    /// Offsets within the RTP payload of the rewritable fields, when present.
    public private(set) var pictureIDOffset: Int?
    public private(set) var tl0PicIdxOffset: Int?
    public private(set) var tidKeyIdxOffset: Int?
    /// True when this packet begins a keyframe (S=1, PID=0 and the VP8 payload header's P bit is 0).
    public private(set) var isKeyframe = false

    public init(
        nonReferenceFrame: Bool = false, startOfPartition: Bool, partitionIndex: UInt8 = 0,
        pictureID: UInt16? = nil, pictureIDIs15Bit: Bool = true, tl0PicIdx: UInt8? = nil,
        temporalLayerID: UInt8? = nil, layerSync: Bool = false, keyIndex: UInt8? = nil
    ) {
        self.nonReferenceFrame = nonReferenceFrame
        self.startOfPartition = startOfPartition
        self.partitionIndex = partitionIndex & 0x07
        self.pictureID = pictureID
        self.pictureIDIs15Bit = pictureIDIs15Bit
        self.tl0PicIdx = tl0PicIdx
        self.temporalLayerID = temporalLayerID
        self.layerSync = layerSync
        self.keyIndex = keyIndex
        self.length = serializedLength
    }

    /// Parses the descriptor at the start of `payload` (the RTP payload, padding removed).
    public init(parsing payload: UnsafeRawBufferPointer) throws(CodecParseError) {
        guard payload.count >= 1 else { throw .truncated }
        let b0 = payload[0]
        nonReferenceFrame = b0 & 0x20 != 0
        startOfPartition = b0 & 0x10 != 0
        partitionIndex = b0 & 0x07
        pictureID = nil
        pictureIDIs15Bit = false
        tl0PicIdx = nil
        temporalLayerID = nil
        layerSync = false
        keyIndex = nil
        var offset = 1
        if b0 & 0x80 != 0 {
            guard payload.count > offset else { throw .truncated }
            let x = payload[offset]
            offset += 1
            if x & 0x80 != 0 {
                guard payload.count > offset else { throw .truncated }
                pictureIDOffset = offset
                if payload[offset] & 0x80 != 0 {
                    guard payload.count > offset + 1 else { throw .truncated }
                    pictureIDIs15Bit = true
                    pictureID = payload.u16(offset) & 0x7FFF
                    offset += 2
                } else {
                    pictureID = UInt16(payload[offset])
                    offset += 1
                }
            }
            if x & 0x40 != 0 {
                guard payload.count > offset else { throw .truncated }
                tl0PicIdxOffset = offset
                tl0PicIdx = payload[offset]
                offset += 1
            }
            if x & 0x30 != 0 {
                guard payload.count > offset else { throw .truncated }
                tidKeyIdxOffset = offset
                let b = payload[offset]
                if x & 0x20 != 0 {
                    temporalLayerID = b >> 6
                    layerSync = b & 0x20 != 0
                }
                if x & 0x10 != 0 { keyIndex = b & 0x1F }
                offset += 1
            }
        }
        length = offset
        // The VP8 payload header's first byte carries P (inverse keyframe flag) in bit 0, but only
        // in the packet that starts partition 0.
        if startOfPartition, partitionIndex == 0, payload.count > offset {
            isKeyframe = payload[offset] & 0x01 == 0
        }
    }

    /// Bytes `write` produces.
    public var serializedLength: Int {
        var n = 1
        if hasExtensionByte {
            n += 1
            if pictureID != nil { n += pictureIDIs15Bit ? 2 : 1 }
            if tl0PicIdx != nil { n += 1 }
            if temporalLayerID != nil || keyIndex != nil { n += 1 }
        }
        return n
    }

    var hasExtensionByte: Bool {
        pictureID != nil || tl0PicIdx != nil || temporalLayerID != nil || keyIndex != nil
    }

    /// Appends the descriptor (for tests and packets the SFU builds).
    public func write(to out: inout [UInt8]) {
        out.append((hasExtensionByte ? 0x80 : 0) | (nonReferenceFrame ? 0x20 : 0) | (startOfPartition ? 0x10 : 0) | (partitionIndex & 0x07))
        guard hasExtensionByte else { return }
        out.append((pictureID != nil ? 0x80 : 0) | (tl0PicIdx != nil ? 0x40 : 0) | (temporalLayerID != nil ? 0x20 : 0) | (keyIndex != nil ? 0x10 : 0))
        if let pictureID {
            if pictureIDIs15Bit {
                out.append16(0x8000 | (pictureID & 0x7FFF))
            } else {
                out.append(UInt8(pictureID & 0x7F))
            }
        }
        if let tl0PicIdx { out.append(tl0PicIdx) }
        if temporalLayerID != nil || keyIndex != nil {
            out.append(((temporalLayerID ?? 0) & 0x03) << 6 | (layerSync ? 0x20 : 0) | ((keyIndex ?? 0) & 0x1F))
        }
    }

    /// Rewrites the munged fields in place. Fields absent from the packet are left alone (the
    /// SFU cannot add them without moving the payload); the picture id keeps its width, so it
    /// wraps at 2^7 or 2^15. Returns false if `payload` is too short for this descriptor.
    @discardableResult
    public func rewrite(
        _ payload: UnsafeMutableRawBufferPointer, pictureID newPictureID: UInt16? = nil,
        tl0PicIdx newTL0: UInt8? = nil, keyIndex newKeyIndex: UInt8? = nil
    ) -> Bool {
        guard payload.count >= length else { return false }
        if let newPictureID, let offset = pictureIDOffset {
            if pictureIDIs15Bit {
                payload.put16(0x8000 | (newPictureID & 0x7FFF), at: offset)
            } else {
                payload[offset] = UInt8(newPictureID & 0x7F)
            }
        }
        if let newTL0, let offset = tl0PicIdxOffset { payload[offset] = newTL0 }
        if let newKeyIndex, keyIndex != nil, let offset = tidKeyIdxOffset {
            payload[offset] = (payload[offset] & 0xE0) | (newKeyIndex & 0x1F)
        }
        return true
    }

    /// Width and height from a keyframe's uncompressed data chunk (RFC 6386 §9.1), or nil when
    /// this packet does not start a keyframe. The SFU uses it to learn simulcast layer sizes.
    public func keyframeDimensions(in payload: UnsafeRawBufferPointer) -> (width: Int, height: Int)? {
        guard isKeyframe, payload.count >= length + 10 else { return nil }
        let frame = length
        // Start code 0x9d 0x01 0x2a after the 3-byte frame tag.
        guard payload[frame + 3] == 0x9D, payload[frame + 4] == 0x01, payload[frame + 5] == 0x2A else { return nil }
        let width = Int(payload[frame + 6]) | Int(payload[frame + 7] & 0x3F) << 8
        let height = Int(payload[frame + 8]) | Int(payload[frame + 9] & 0x3F) << 8
        return (width, height)
    }
}
