import Media

/// The RTX stream (RFC 4588) a DownTrack answers NACKs on, when the subscriber negotiated RTX:
/// its payload type and SSRC, its own sequence numbers (a retransmission is a new packet of the
/// RTX stream, so the media stream's loss statistics stay the receiver's real loss), and the
/// scratch buffer each retransmission is built in (one allocation, made here: the NACK path
/// stays allocation-free). Loop-confined, like its DownTrack.
public final class RetransmissionStream {
    public let payloadType: UInt8
    public let ssrc: UInt32
    private var nextSequence: UInt16
    /// Retransmissions sent on this stream, and their bytes on the wire.
    public private(set) var packetsSent = 0
    public private(set) var bytesSent: UInt64 = 0
    /// A full-size packet plus the 2-byte original sequence number.
    private let buffer: UnsafeMutableRawBufferPointer
    private static let bufferSize = 1500 + 2

    public init(payloadType: UInt8, ssrc: UInt32, initialSequence: UInt16 = UInt16.random(in: 0...0x7FFF)) {
        self.payloadType = payloadType
        self.ssrc = ssrc
        nextSequence = initialSequence
        buffer = .allocate(byteCount: Self.bufferSize, alignment: 16)
    }

    deinit {
        buffer.deallocate()
    }

    /// The RTX form of `packet` (already rewritten for the subscriber) in the scratch buffer,
    /// under the next RTX sequence number; valid until the next call. Nil if it does not fit.
    func wrap(_ packet: RTPPacket) -> UnsafeMutableRawBufferPointer? {
        guard let length = RTXPacket.wrap(packet, into: buffer, rtxPayloadType: payloadType, rtxSSRC: ssrc,
                                          rtxSequenceNumber: nextSequence) else { return nil }
        nextSequence &+= 1
        return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
    }

    /// `count` consecutive sequence numbers for padding-only probe packets; returns the first.
    func reserveSequenceNumbers(_ count: Int) -> UInt16 {
        let first = nextSequence
        nextSequence &+= UInt16(truncatingIfNeeded: count)
        return first
    }

    func countSent(bytes: Int) {
        packetsSent += 1
        bytesSent &+= UInt64(bytes)
    }
}
