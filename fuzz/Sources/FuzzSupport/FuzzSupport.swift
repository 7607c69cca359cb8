import Media

/// Splits a fuzz input into a sequence of packets: each is a 2-byte big-endian length and that
/// many bytes (a short last one takes what is left). Lets one input carry a whole RTP stream,
/// so the depacketizers' state across packets (frame assembly, loss, keyframe waits) is reached.
public func splitPackets(_ data: UnsafeRawBufferPointer, limit: Int = 64) -> [UnsafeRawBufferPointer] {
    var packets: [UnsafeRawBufferPointer] = []
    var offset = 0
    while offset + 2 <= data.count, packets.count < limit {
        let length = Int(data[offset]) << 8 | Int(data[offset + 1])
        offset += 2
        let end = min(data.count, offset + length)
        packets.append(UnsafeRawBufferPointer(rebasing: data[offset..<end]))
        offset = end
    }
    return packets
}

/// The fuzzer's bytes as a buffer (libFuzzer may pass a null pointer for the empty input).
public func input(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeRawBufferPointer {
    guard let data, size > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: data, count: size)
}

/// Keeps a computed value alive so the optimizer cannot drop the code that made it.
@inline(never)
public func consume<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
