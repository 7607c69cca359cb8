import CFFmpeg

/// Decoder configuration ("extradata") in the memory libav wants: allocated with `av_mallocz`,
/// padded with `AV_INPUT_BUFFER_PADDING_SIZE` zero bytes (its bitstream readers read past the
/// end), and owned by the codec context or stream it is stored in, which frees it.
enum LibAVExtradata {
    /// A libav-owned copy of `bytes`, or nil when the allocation fails.
    static func copy(_ bytes: [UInt8]) -> (pointer: UnsafeMutablePointer<UInt8>, size: Int32)? {
        guard let memory = av_mallocz(bytes.count + Int(AV_INPUT_BUFFER_PADDING_SIZE)) else { return nil }
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { memory.copyMemory(from: base, byteCount: bytes.count) }
        }
        return (memory.assumingMemoryBound(to: UInt8.self), Int32(bytes.count))
    }
}
