/// The decoder configuration records containers store in a track header ("extradata").
enum CodecConfiguration {
    /// The Opus identification header (RFC 7845 §5.1), which Ogg, Matroska and MP4 (via dOps)
    /// all carry: magic, version 1, channel count, pre-skip, input rate, gain, mapping family 0.
    ///
    /// Pre-skip is 0: the encoder's priming delay is not signalled over RTP, and guessing it would
    /// cut real audio from the start of the file.
    static func opusHead(channels: Int, inputSampleRate: Int = 48000) -> [UInt8] {
        var head = Array("OpusHead".utf8)
        head.append(1)
        head.append(UInt8(clamping: max(1, min(channels, 2))))
        head.append(contentsOf: [0, 0])  // pre-skip, little-endian
        let rate = UInt32(clamping: inputSampleRate)
        head.append(contentsOf: [UInt8(rate & 0xFF), UInt8(rate >> 8 & 0xFF), UInt8(rate >> 16 & 0xFF), UInt8(rate >> 24)])
        head.append(contentsOf: [0, 0])  // output gain
        head.append(0)  // channel mapping family 0: mono or stereo, no table
        return head
    }

    /// The AVC decoder configuration record (ISO 14496-15 §5.3.3.1, "avcC") for one SPS and one
    /// PPS, declaring 4-byte NAL length prefixes. Profile, compatibility and level are copied from
    /// the SPS's bytes 1-3.
    static func avcDecoderConfiguration(sps: [UInt8], pps: [UInt8]) -> [UInt8]? {
        guard sps.count >= 4, !pps.isEmpty, sps.count <= Int(UInt16.max), pps.count <= Int(UInt16.max) else { return nil }
        var record: [UInt8] = [1, sps[1], sps[2], sps[3], 0xFC | 3, 0xE0 | 1]
        record.append(UInt8(sps.count >> 8)); record.append(UInt8(sps.count & 0xFF))
        record.append(contentsOf: sps)
        record.append(1)
        record.append(UInt8(pps.count >> 8)); record.append(UInt8(pps.count & 0xFF))
        record.append(contentsOf: pps)
        return record
    }
}
