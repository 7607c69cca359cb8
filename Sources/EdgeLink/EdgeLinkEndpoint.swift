import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One end of an edge link over UDP: seals what this end sends (media framed with its
/// subscription and layer, or control), opens what arrives, and hands media and control to the
/// link's owner. The origin end learns where its edge is from the first datagram that
/// authenticates (the edge speaks first, with `subscribe`), so nothing unauthenticated can steer
/// the origin's media anywhere.
///
/// Sending is serialised by a lock (the nonce counter must never repeat), receiving runs on a
/// thread of its own that blocks in `recvfrom`. IPv4 for now (the nodes' advertised hosts).
public final class EdgeLinkEndpoint: @unchecked Sendable {
    public let asOrigin: Bool
    public let sent = EdgeLinkLayerCounters()
    public let received = EdgeLinkLayerCounters()
    private let sealer: EdgeLinkSealer
    private let opener: EdgeLinkOpener
    private let socket: Int32
    private let sendLock = NSLock()
    private var frame = [UInt8](repeating: 0, count: EdgeLinkDatagram.maximumSize)
    private var peer: sockaddr_in?
    private let peerLock = NSLock()
    private let stopped = Atomic(false)
    private let refusedCount = Atomic(0)
    private var thread: Thread?

    public enum EndpointError: Error {
        case socket(Int32)
        case badAddress(String)
    }

    /// Binds a UDP socket on `host` (an IPv4 address) and `port` (0: any free port).
    public init(keys: EdgeLinkKeys, asOrigin: Bool, host: String = "127.0.0.1", port: UInt16 = 0) throws {
        self.asOrigin = asOrigin
        sealer = EdgeLinkSealer(key: keys.sending(asOrigin: asOrigin))
        opener = EdgeLinkOpener(key: keys.receiving(asOrigin: asOrigin))
        socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard socket >= 0 else { throw EndpointError.socket(errno) }
        var address = try Self.address(host, port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { let code = errno; Glibc.close(socket); throw EndpointError.socket(code) }
        // The receive thread wakes at least this often to notice `close()`.
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(socket) }

    /// The bound port (to advertise to the other node).
    public var localPort: UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Datagrams dropped because they did not open (forged, corrupted, replayed, wrong link).
    public var refused: Int { refusedCount.load(ordering: .relaxed) }

    /// Where this end sends (the edge sets the origin's address; the origin learns the edge's).
    public func connect(host: String, port: UInt16) throws {
        let address = try Self.address(host, port)
        peerLock.withLock { peer = address }
    }

    /// Starts receiving: `onMedia` gets each authentic media packet (valid during the call),
    /// `onControl` each control message. Both run on the link's receive thread.
    public func start(onMedia: @escaping @Sendable (UInt16, UInt8, UnsafeRawBufferPointer) -> Void,
                      onControl: @escaping @Sendable (EdgeLinkControl) -> Void) {
        let thread = Thread { [self] in receiveLoop(onMedia: onMedia, onControl: onControl) }
        thread.name = asOrigin ? "edge-link-origin" : "edge-link-edge"
        self.thread = thread
        thread.start()
    }

    public func close() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Seals and sends one RTP packet of `layer` of `subscription` (the origin's per-packet
    /// path: one framing copy, one seal, one `sendto`). Returns false when there is no peer yet
    /// or the packet is too large for a datagram.
    @discardableResult
    public func sendMedia(subscription: UInt16, layer: UInt8, packet: UnsafeRawBufferPointer) -> Bool {
        sendLock.lock(); defer { sendLock.unlock() }
        guard packet.count + EdgeLinkMedia.prefixSize + EdgeLinkDatagram.overhead <= EdgeLinkDatagram.maximumSize
        else { return false }
        let ok = frame.withUnsafeMutableBytes { scratch -> Bool in
            let length = EdgeLinkMedia.frame(subscription: subscription, layer: layer, packet: packet, into: scratch)
            return (try? sealer.seal(.media, payload: UnsafeRawBufferPointer(rebasing: scratch[0..<length])) {
                transmit($0)
            }) ?? false
        }
        if ok { sent.count(subscription: subscription, layer: layer) }
        return ok
    }

    @discardableResult
    public func sendControl(_ message: EdgeLinkControl) -> Bool {
        sendLock.lock(); defer { sendLock.unlock() }
        let payload = message.encoded()
        return (try? payload.withUnsafeBytes { try sealer.seal(.control, payload: $0) { transmit($0) } }) ?? false
    }

    private func transmit(_ datagram: UnsafeRawBufferPointer) -> Bool {
        guard var target = peerLock.withLock({ peer }) else { return false }
        let result = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(socket, datagram.baseAddress, datagram.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == datagram.count
    }

    private func receiveLoop(onMedia: (UInt16, UInt8, UnsafeRawBufferPointer) -> Void,
                             onControl: (EdgeLinkControl) -> Void) {
        var buffer = [UInt8](repeating: 0, count: EdgeLinkDatagram.maximumSize + 1)
        while !stopped.load(ordering: .relaxed) {
            var from = sockaddr_in()
            var fromLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(socket, raw.baseAddress, raw.count, 0, $0, &fromLength)
                    }
                }
            }
            guard count > 0 else { continue }
            let attempt = buffer.withUnsafeBytes { raw -> (EdgeLinkDatagram.Kind, [UInt8])? in
                try? opener.open(UnsafeRawBufferPointer(rebasing: raw[0..<count]))
            }
            guard let opened = attempt else {
                refusedCount.add(1, ordering: .relaxed)
                continue
            }
            // Only an authentic datagram may tell the origin where its edge is.
            if asOrigin { let source = from; peerLock.withLock { peer = source } }
            switch opened.0 {
            case .media:
                opened.1.withUnsafeBytes { plain in
                    guard let media = EdgeLinkMedia.parse(plain) else { return }
                    received.count(subscription: media.subscription, layer: media.layer)
                    onMedia(media.subscription, media.layer, media.packet)
                }
            case .control:
                if let message = try? EdgeLinkControl(decoding: opened.1) { onControl(message) }
                else { refusedCount.add(1, ordering: .relaxed) }
            }
        }
    }

    static func address(_ host: String, _ port: UInt16) throws -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw EndpointError.badAddress(host) }
        return address
    }
}
