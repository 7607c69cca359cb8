import SFU
import WebRTC

/// Adapts a `PeerConnection` to the SFU's `MediaTransport` (the SFU does not import WebRTC).
public final class PeerConnectionMediaTransport: MediaTransport {
    weak var connection: PeerConnection?

    public init(_ connection: PeerConnection) { self.connection = connection }

    @inline(__always)
    public func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool { connection?.sendRTP(packet) ?? false }
    public func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool { connection?.sendRTCP(packet) ?? false }
}
