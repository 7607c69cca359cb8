import Crypto
import Foundation

/// Opens the datagrams the other end sealed: checks version, kind and the replay window on the
/// clear header, then authenticates and decrypts. Anything forged, corrupted, sealed under another
/// link's key or replayed is refused with a reason (counted by the caller), never trusted.
public final class EdgeLinkOpener {
    private let key: SymmetricKey
    private var window = ReplayWindow()

    public init(key: SymmetricKey) { self.key = key }

    public enum OpenError: Error, Equatable {
        case tooShort
        case badVersion(UInt8)
        case unknownKind(UInt8)
        case replayed(UInt64)
        case notAuthentic
    }

    /// The kind and plaintext of `datagram`.
    public func open(_ datagram: UnsafeRawBufferPointer) throws(OpenError) -> (EdgeLinkDatagram.Kind, [UInt8]) {
        guard datagram.count >= EdgeLinkDatagram.overhead else { throw .tooShort }
        guard datagram[0] == EdgeLinkDatagram.version else { throw .badVersion(datagram[0]) }
        guard let kind = EdgeLinkDatagram.Kind(rawValue: datagram[1]) else { throw .unknownKind(datagram[1]) }
        var counter: UInt64 = 0
        for index in 0..<8 { counter = counter << 8 | UInt64(datagram[2 + index]) }
        guard window.accepts(counter) else { throw .replayed(counter) }
        let header = UnsafeRawBufferPointer(rebasing: datagram[0..<EdgeLinkDatagram.headerSize])
        let cipherEnd = datagram.count - EdgeLinkDatagram.tagSize
        let plain: Data
        do {
            let box = try ChaChaPoly.SealedBox(
                nonce: EdgeLinkSealer.nonce(counter),
                ciphertext: UnsafeRawBufferPointer(rebasing: datagram[EdgeLinkDatagram.headerSize..<cipherEnd]),
                tag: UnsafeRawBufferPointer(rebasing: datagram[cipherEnd...]))
            plain = try ChaChaPoly.open(box, using: key, authenticating: header)
        } catch {
            throw .notAuthentic
        }
        window.record(counter)
        return (kind, [UInt8](plain))
    }

    public func open(_ datagram: [UInt8]) throws(OpenError) -> (EdgeLinkDatagram.Kind, [UInt8]) {
        var outcome: Result<(EdgeLinkDatagram.Kind, [UInt8]), OpenError> = .failure(.tooShort)
        datagram.withUnsafeBytes { bytes in
            do throws(OpenError) { outcome = .success(try open(bytes)) } catch { outcome = .failure(error) }
        }
        return try outcome.get()
    }
}
