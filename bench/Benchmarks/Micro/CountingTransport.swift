import SFU

/// A subscriber's (or publisher's) transport that sends nothing and counts: the fan-out cost
/// without SRTP or the network, and a check that every packet reached every DownTrack.
final class CountingTransport: MediaTransport {
    private(set) var rtpPackets = 0
    private(set) var rtpBytes = 0
    private(set) var rtcpPackets = 0

    func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool {
        rtpPackets &+= 1
        rtpBytes &+= packet.count
        return true
    }

    func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool {
        rtcpPackets &+= 1
        return true
    }
}
