import Crypto
import Foundation

/// The two keys of one edge link: one for what the origin sends to the edge (media, mostly), one
/// for what the edge sends back (control). Both come from the cluster's API secret, so only nodes
/// that share it can open or forge the link's datagrams; the node ids and the room are in the
/// derivation, so a datagram sealed for one (origin, edge, room) opens on no other link, and a
/// separate key per direction means the two counters can never reuse a nonce under one key.
public struct EdgeLinkKeys: @unchecked Sendable {  // SymmetricKey is immutable
    public let originToEdge: SymmetricKey
    public let edgeToOrigin: SymmetricKey

    /// HKDF-SHA256 over the API secret, with the link's identity as `info`.
    public init(apiSecret: String, originNode: String, edgeNode: String, room: String) {
        let secret = SymmetricKey(data: Data(apiSecret.utf8))
        let salt = Data("sluice edge link v1".utf8)
        func derive(_ direction: String) -> SymmetricKey {
            // Lengths before each part: "a|bc" and "ab|c" must not derive the same key.
            var info = Data()
            for part in [direction, originNode, edgeNode, room] {
                let bytes = Data(part.utf8)
                var length = UInt32(bytes.count).bigEndian
                withUnsafeBytes(of: &length) { info.append(contentsOf: $0) }
                info.append(bytes)
            }
            return HKDF<SHA256>.deriveKey(inputKeyMaterial: secret, salt: salt, info: info, outputByteCount: 32)
        }
        originToEdge = derive("origin->edge")
        edgeToOrigin = derive("edge->origin")
    }

    /// The key this end seals with.
    public func sending(asOrigin: Bool) -> SymmetricKey { asOrigin ? originToEdge : edgeToOrigin }
    /// The key this end opens with.
    public func receiving(asOrigin: Bool) -> SymmetricKey { asOrigin ? edgeToOrigin : originToEdge }
}
