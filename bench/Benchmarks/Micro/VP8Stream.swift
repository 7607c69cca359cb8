import Media

/// A VP8 video stream of fixed-size RTP packets in one reused buffer, the way a media worker
/// reuses its receive buffer: `next()` writes the next packet's header and descriptor fields in
/// place (no allocation), three packets a frame at 30 fps, a keyframe first and deltas after.
///
/// Packets look like Chrome's: abs-send-time and transport-wide-cc header extensions, a VP8
/// descriptor with a 15-bit picture id, TL0PICIDX and KEYIDX, then the VP8 payload header.
struct VP8Stream {
    static let packetsPerFrame = 3
    static let absSendTimeID: UInt8 = 2
    static let transportCCID: UInt8 = 3

    /// The packet plus room for the SRTP trailer (protect grows it in place).
    let buffer: UnsafeMutableRawBufferPointer
    let length: Int
    /// Offset of the VP8 descriptor (the RTP payload).
    private let descriptorOffset: Int
    private(set) var sequenceNumber: UInt16
    private(set) var timestamp: UInt32
    private var pictureID: UInt16 = 0x1234
    private var tl0PicIdx: UInt8 = 7
    private var transportSequence: UInt16 = 0
    /// Packets produced so far.
    private(set) var count = 0

    init(ssrc: UInt32, length: Int = 1200, payloadType: UInt8 = 96,
         sequenceNumber: UInt16 = 0xFFF0, timestamp: UInt32 = 0xFFFF_0000) {
        var payload: [UInt8] = []
        VP8PayloadDescriptor(startOfPartition: true, pictureID: 0, pictureIDIs15Bit: true, tl0PicIdx: 0,
                             temporalLayerID: 0, keyIndex: 1).write(to: &payload)
        // VP8 keyframe header: frame tag (P=0), start code, 640x360.
        payload += [0x50, 0x42, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0x68, 0x01]
        let builder = RTPPacketBuilder(
            payloadType: payloadType, sequenceNumber: sequenceNumber, timestamp: timestamp, ssrc: ssrc,
            extensions: [RTPPacketBuilder.absSendTimeExtension(id: Self.absSendTimeID, 0),
                         RTPPacketBuilder.transportSequenceNumberExtension(id: Self.transportCCID, 0)],
            payload: payload)
        var bytes = try! builder.bytes()
        precondition(bytes.count <= length, "packet headers exceed \(length) bytes")
        let headerLength = bytes.count - payload.count
        bytes += (0..<(length - bytes.count)).map { UInt8(truncatingIfNeeded: $0 &* 31) }

        buffer = .allocate(byteCount: length + 64, alignment: 16)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        buffer.copyBytes(from: bytes)
        self.length = length
        self.descriptorOffset = headerLength
        self.sequenceNumber = sequenceNumber &- 1
        self.timestamp = timestamp
    }

    /// Frees the buffer; the stream must not be used afterwards.
    func deallocate() { buffer.deallocate() }

    /// The packet bytes as they are now (without the spare trailer room).
    var packet: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length]) }

    /// Advances to the next packet of the stream in place and returns it.
    @inline(__always)
    mutating func next() -> UnsafeMutableRawBufferPointer {
        let index = count % Self.packetsPerFrame
        let frame = count / Self.packetsPerFrame
        if index == 0 && count > 0 {
            timestamp &+= 3000
            pictureID = (pictureID &+ 1) & 0x7FFF
            tl0PicIdx &+= 1
        }
        sequenceNumber &+= 1
        transportSequence &+= 1
        count += 1

        let base = buffer.baseAddress!
        base.storeBytes(of: (index == Self.packetsPerFrame - 1 ? 0x80 : 0) | (buffer[1] & 0x7F), toByteOffset: 1, as: UInt8.self)
        base.storeBytes(of: sequenceNumber.bigEndian, toByteOffset: 2, as: UInt16.self)
        base.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
        // Transport-wide sequence number: one-byte extension element after abs-send-time (1 + 3).
        base.storeBytes(of: transportSequence.bigEndian, toByteOffset: 12 + 4 + 4 + 1, as: UInt16.self)
        // Descriptor: S bit only on the frame's first packet; picture id, TL0PICIDX.
        let d = descriptorOffset
        buffer[d] = (buffer[d] & ~0x10) | (index == 0 ? 0x10 : 0)
        base.storeBytes(of: (0x8000 | pictureID).bigEndian, toByteOffset: d + 2, as: UInt16.self)
        buffer[d + 4] = tl0PicIdx
        // VP8 payload header P bit: 0 for the keyframe (first frame), 1 for deltas.
        buffer[d + 6] = (buffer[d + 6] & ~0x01) | (frame == 0 ? 0 : 1)
        return packet
    }
}
