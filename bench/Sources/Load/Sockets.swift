import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Errors of the load tool's small clients (signalling WebSocket, Janus HTTP).
struct LoadError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A blocking TCP connection to 127.0.0.1 (the tool only ever talks to loopback).
final class TCPConnection: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []
    private let writeLock = NSLock()

    init(port: Int, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(1) /* SOCK_STREAM */, 0)
        guard fd >= 0 else { throw LoadError("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            throw LoadError("connect 127.0.0.1:\(port): errno \(errno)")  // deinit closes fd
        }
        setReceiveTimeout(seconds: timeoutSeconds)
    }

    deinit { close(fd) }

    func setReceiveTimeout(seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func shutdownBoth() { shutdown(fd, Int32(SHUT_RDWR)) }

    func write(_ bytes: [UInt8]) throws {
        writeLock.lock()
        defer { writeLock.unlock() }
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw LoadError("send: errno \(errno)") }
            sent += n
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw LoadError("recv: errno \(errno)") }
            if n == 0 { throw LoadError("connection closed") }
            buffer.append(contentsOf: chunk[0..<n])
            return
        }
    }

    func read(exactly count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        let out = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return out
    }

    /// Reads through the first "\r\n\r\n" (an HTTP head).
    func readHead() throws -> String {
        let end: [UInt8] = [13, 10, 13, 10]
        while true {
            if buffer.count >= 4 {
                for i in 0...(buffer.count - 4) where buffer[i] == 13 && Array(buffer[i..<i + 4]) == end {
                    let head = String(decoding: buffer[0..<i], as: UTF8.self)
                    buffer.removeFirst(i + 4)
                    return head
                }
            }
            try fill()
        }
    }

    /// Everything until the peer closes.
    func readToEnd() throws -> [UInt8] {
        while true {
            do { try fill() } catch let error as LoadError where error.description == "connection closed" { break }
        }
        let out = buffer
        buffer = []
        return out
    }
}

/// A minimal RFC 6455 client over `TCPConnection`: binary messages, ping/pong, close. One reader
/// thread per socket delivers whole messages to `onMessage`; `send` may be called from any thread.
final class SignalSocket: @unchecked Sendable {
    private let connection: TCPConnection
    private let lock = NSLock()
    private var closed = false
    var onMessage: (@Sendable ([UInt8]) -> Void)?
    var onClose: (@Sendable (String) -> Void)?

    init(port: Int, path: String, headers: [String: String]) throws {
        connection = try TCPConnection(port: port)
        var keyBytes = [UInt8](repeating: 0, count: 16)
        for i in keyBytes.indices { keyBytes[i] = UInt8.random(in: 0...255) }
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: \(Data(keyBytes).base64EncodedString())\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try connection.write(Array(request.utf8))
        let head = try connection.readHead()
        guard head.hasPrefix("HTTP/1.1 101") else {
            throw LoadError("WebSocket upgrade refused: \(head.split(separator: "\r\n").first ?? "")")
        }
        connection.setReceiveTimeout(seconds: 0)  // block: the server pings and we ping it
    }

    func start() {
        let thread = Thread { [self] in readLoop() }
        thread.stackSize = 256 * 1024
        thread.start()
    }

    func send(_ payload: [UInt8], opcode: UInt8 = 2) {
        var frame: [UInt8] = [0x80 | opcode]
        let count = payload.count
        if count < 126 {
            frame.append(0x80 | UInt8(count))
        } else if count < 65536 {
            frame.append(0x80 | 126)
            frame += [UInt8(count >> 8), UInt8(count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((count >> shift) & 0xFF)) }
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += mask
        frame.reserveCapacity(frame.count + count)
        for (i, byte) in payload.enumerated() { frame.append(byte ^ mask[i & 3]) }
        do { try connection.write(frame) } catch { finish("send failed: \(error)") }
    }

    func close() {
        lock.lock()
        let was = closed
        closed = true
        lock.unlock()
        guard !was else { return }
        send([0x03, 0xE8], opcode: 8)
        connection.shutdownBoth()
    }

    private func finish(_ why: String) {
        lock.lock()
        let was = closed
        closed = true
        lock.unlock()
        if !was { onClose?(why) }
    }

    private func readLoop() {
        var message: [UInt8] = []
        do {
            while true {
                let head = try connection.read(exactly: 2)
                let fin = head[0] & 0x80 != 0
                let opcode = head[0] & 0x0F
                var length = Int(head[1] & 0x7F)
                let masked = head[1] & 0x80 != 0
                if length == 126 {
                    let b = try connection.read(exactly: 2)
                    length = Int(b[0]) << 8 | Int(b[1])
                } else if length == 127 {
                    let b = try connection.read(exactly: 8)
                    length = b.reduce(0) { $0 << 8 | Int($1) }
                }
                let mask = masked ? try connection.read(exactly: 4) : []
                var payload = try connection.read(exactly: length)
                if masked { for i in payload.indices { payload[i] ^= mask[i & 3] } }
                switch opcode {
                case 0, 1, 2:
                    message += payload
                    if fin {
                        onMessage?(message)
                        message = []
                    }
                case 8:
                    finish("closed by the server")
                    return
                case 9:
                    send(payload, opcode: 10)
                default:
                    break
                }
            }
        } catch {
            finish("\(error)")
        }
    }
}

/// One HTTP/1.1 request to 127.0.0.1 with `Connection: close` (Janus's HTTP API).
func httpRequest(port: Int, method: String, path: String, body: [UInt8]? = nil, timeoutSeconds: Int = 40) throws -> (Int, [UInt8]) {
    let connection = try TCPConnection(port: port, timeoutSeconds: timeoutSeconds)
    var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
    if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
    request += "\r\n"
    try connection.write(Array(request.utf8) + (body ?? []))
    let head = try connection.readHead()
    let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
    let lower = head.lowercased()
    var rest: [UInt8]
    if let range = lower.range(of: "content-length:") {
        let value = lower[range.upperBound...].prefix { $0 != "\r" }.trimmingCharacters(in: .whitespaces)
        rest = try connection.read(exactly: Int(value) ?? 0)
    } else {
        rest = try connection.readToEnd()
        if lower.contains("transfer-encoding: chunked") { rest = dechunk(rest) }
    }
    return (status, rest)
}

private func dechunk(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
        var j = i
        while j + 1 < bytes.count, !(bytes[j] == 13 && bytes[j + 1] == 10) { j += 1 }
        let size = Int(String(decoding: bytes[i..<j], as: UTF8.self).split(separator: ";").first ?? "", radix: 16) ?? 0
        if size == 0 { break }
        let start = j + 2
        out += bytes[start..<min(bytes.count, start + size)]
        i = start + size + 2
    }
    return out
}
