import Crypto
import Foundation

/// Seals this end's datagrams with ChaCha20-Poly1305 under its direction's key, numbering them
/// with a counter that never repeats for the key's life (the nonce). One per link direction; used
/// from one thread (the origin's worker that fans the track out).
///
/// The output goes into a buffer the sealer owns and reuses; swift-crypto's `seal` still builds
/// its own ciphertext `Data` (one allocation per packet), which is the remaining per-packet
/// allocation on the origin's side of the link.
public final class EdgeLinkSealer {
    private let key: SymmetricKey
    private var counter: UInt64 = 0
    private var output: [UInt8]

    public init(key: SymmetricKey) {
        self.key = key
        output = [UInt8](repeating: 0, count: EdgeLinkDatagram.maximumSize)
    }

    /// How many datagrams this sealer has numbered.
    public var sealedCount: UInt64 { counter }

    public enum SealError: Error, Equatable {
        case payloadTooLarge(Int)
    }

    /// Seals `payload` as a datagram of `kind` and hands the wire bytes to `body` (valid only
    /// during the call: the buffer is reused by the next seal).
    public func seal<R>(_ kind: EdgeLinkDatagram.Kind, payload: UnsafeRawBufferPointer,
                        _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let total = payload.count + EdgeLinkDatagram.overhead
        guard total <= EdgeLinkDatagram.maximumSize else { throw SealError.payloadTooLarge(payload.count) }
        counter += 1
        let number = counter
        return try output.withUnsafeMutableBytes { out -> R in
            out[0] = EdgeLinkDatagram.version
            out[1] = kind.rawValue
            for index in 0..<8 { out[2 + index] = UInt8(truncatingIfNeeded: number >> (56 - 8 * UInt64(index))) }
            let header = UnsafeRawBufferPointer(rebasing: out[0..<EdgeLinkDatagram.headerSize])
            let box = try ChaChaPoly.seal(payload, using: key, nonce: Self.nonce(number), authenticating: header)
            var offset = EdgeLinkDatagram.headerSize
            box.ciphertext.withUnsafeBytes { cipher in
                UnsafeMutableRawBufferPointer(rebasing: out[offset..<offset + cipher.count]).copyMemory(from: cipher)
                offset += cipher.count
            }
            box.tag.withUnsafeBytes { tag in
                UnsafeMutableRawBufferPointer(rebasing: out[offset..<offset + tag.count]).copyMemory(from: tag)
                offset += tag.count
            }
            return try body(UnsafeRawBufferPointer(rebasing: out[0..<offset]))
        }
    }

    /// Convenience for control messages and tests.
    public func seal(_ kind: EdgeLinkDatagram.Kind, payload: [UInt8]) throws -> [UInt8] {
        try payload.withUnsafeBytes { try seal(kind, payload: $0) { Array($0) } }
    }

    static func nonce(_ counter: UInt64) -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for index in 0..<8 { bytes[4 + index] = UInt8(truncatingIfNeeded: counter >> (56 - 8 * UInt64(index))) }
        // 12 bytes always make a valid nonce.
        return try! ChaChaPoly.Nonce(data: bytes)
    }
}
