import CBenchUDP
#if canImport(Glibc)
import Glibc
#endif

enum LoopbackUDPError: Error {
    case system(String, Int32)
}

/// Two UDP sockets on 127.0.0.1 for the floor benchmark: `send`/`sendBatch` go from one to the
/// other. The receiver is bound (so no ICMP port-unreachable turns into ECONNREFUSED) and has a
/// large receive buffer that `drain()` empties between samples, so the kernel measures delivery,
/// not drops. Nobody reads during the measurement: only the sender's cost matters.
final class LoopbackUDP {
    let sender: Int32
    let receiver: Int32
    private var destination = sockaddr_in()
    /// Sends that failed (ENOBUFS, EAGAIN...): should stay 0, otherwise the figures are suspect.
    private(set) var failures = 0
    private let drainBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)

    init(receiveBufferBytes: Int32 = 64 << 20) throws {
        receiver = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        sender = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard receiver >= 0, sender >= 0 else { throw LoopbackUDPError.system("socket", errno) }
        var size = receiveBufferBytes
        // SO_RCVBUFFORCE passes net.core.rmem_max (root only); SO_RCVBUF is capped by it.
        if setsockopt(receiver, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            _ = setsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw LoopbackUDPError.system("bind", errno) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &destination) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(receiver, $0, &length) }
        }
        guard named == 0 else { throw LoopbackUDPError.system("getsockname", errno) }
    }

    deinit {
        close(sender)
        close(receiver)
        drainBuffer.deallocate()
    }

    /// The receiver's effective buffer (the kernel doubles what was asked, within limits).
    var receiveBufferBytes: Int32 {
        var size: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &size, &length)
        return size
    }

    /// One datagram with sendto(2), as a transport without batching sends each packet.
    @inline(__always)
    func send(_ datagram: UnsafeRawBufferPointer) {
        let sent = withUnsafePointer(to: &destination) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(sender, datagram.baseAddress, datagram.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if sent != datagram.count { failures += 1 }
    }

    /// `count` datagrams in one sendmmsg(2) call.
    @inline(__always)
    func sendBatch(_ datagrams: UnsafeMutablePointer<iovec>, count: Int) {
        let sent = withUnsafePointer(to: &destination) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sluice_bench_sendmmsg(sender, datagrams, UInt32(count), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if sent != Int32(count) { failures += count - max(0, Int(sent)) }
    }

    /// Reads everything queued at the receiver (outside the measurement). Returns datagrams read.
    @discardableResult
    func drain() -> Int {
        var read = 0
        while recv(receiver, drainBuffer.baseAddress, drainBuffer.count, Int32(MSG_DONTWAIT)) >= 0 { read += 1 }
        return read
    }
}
