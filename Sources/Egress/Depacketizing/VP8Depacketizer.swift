import Media

/// VP8 over RTP (RFC 7741): strips each packet's payload descriptor and concatenates the rest. A
/// frame must begin with a packet that starts partition 0 (S=1, PID=0); its keyframe flag is the
/// inverse P bit of the VP8 payload header in that packet.
public final class VP8Depacketizer: Depacketizer {
    private var assembly = VideoFrameAssembly()

    public init() {}

    public var needsKeyframe: Bool { assembly.waitingForKeyframe }
    public var framesEmitted: Int { assembly.framesEmitted }
    public var framesDropped: Int { assembly.framesDropped }

    public func push(_ packet: RTPPacket, lostBefore: Int, emit: (EncodedFrame) -> Void) {
        if lostBefore > 0 { assembly.noteLoss() }
        let opens = assembly.prepare(for: packet.timestamp, emit: emit)
        let payload = packet.payload
        guard let descriptor = try? VP8PayloadDescriptor(parsing: payload), descriptor.length < payload.count else {
            assembly.markBroken()
            if packet.marker { assembly.finish(emit: emit) }
            return
        }
        if opens {
            if descriptor.startOfPartition, descriptor.partitionIndex == 0 {
                assembly.isKeyframe = descriptor.isKeyframe
            } else {
                assembly.markBroken()
            }
        }
        assembly.append(UnsafeRawBufferPointer(rebasing: payload[descriptor.length...]))
        if packet.marker { assembly.finish(emit: emit) }
    }

    public func reset() {
        assembly.reset()
    }

    /// Width and height from a VP8 keyframe (RFC 6386 §9.1: 3-byte frame tag, start code
    /// 9d 01 2a, then 14-bit width and height, little-endian, with 2 scaling bits each).
    public static func keyframeDimensions(_ frame: UnsafeRawBufferPointer) -> (width: Int, height: Int)? {
        guard frame.count >= 10, frame[0] & 0x01 == 0,
              frame[3] == 0x9D, frame[4] == 0x01, frame[5] == 0x2A else { return nil }
        let width = Int(frame[6]) | Int(frame[7] & 0x3F) << 8
        let height = Int(frame[8]) | Int(frame[9] & 0x3F) << 8
        return (width, height)
    }
}
