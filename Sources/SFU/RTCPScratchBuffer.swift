import Media

/// Where the SFU writes the RTCP it sends (PLI, NACK, receiver reports, REMB, sender reports,
/// BYE): a buffer on the stack, filled by Media's `RTCPBufferWriter` and handed to the transport
/// within the call, so sending feedback allocates nothing. The transport protects from its own
/// scratch and does not keep the bytes (see `MediaTransport`).
enum RTCPScratchBuffer {
    /// Above anything the SFU builds in one go: RR with 8 blocks (200) + REMB with 8 SSRCs (52).
    static let capacity = 512

    /// Runs `write` on an empty writer and sends what it wrote as one compound packet. False when
    /// nothing was written, a packet did not fit, or the transport refused it.
    @inline(__always)
    @discardableResult
    static func send(to transport: any MediaTransport, _ write: (inout RTCPBufferWriter) -> Void) -> Bool {
        withUnsafeTemporaryAllocation(byteCount: capacity, alignment: 4) { buffer in
            var writer = RTCPBufferWriter(buffer)
            write(&writer)
            guard writer.count > 0, !writer.overflowed else { return false }
            return transport.sendRTCP(writer.written)
        }
    }
}
