import COpenSSL
import CShims

public enum DTLSError: Error, Sendable, Equatable {
    case certificateGeneration(String)
    case contextSetup(String)
    case handshakeFailed(String)
    case fingerprintMismatch(expected: String, actual: String)
    case missingRemoteFingerprint
    case noSRTPProfile
    case keyExport(String)
    case notConnected
    case writeFailed(String)
}

/// Drains this thread's OpenSSL error queue into one line.
func openSSLErrors() -> String {
    var parts: [String] = []
    var buffer = [CChar](repeating: 0, count: 256)
    while case let code = ERR_get_error(), code != 0 {
        ERR_error_string_n(code, &buffer, buffer.count)
        parts.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
    return parts.isEmpty ? "unknown OpenSSL error" : parts.joined(separator: "; ")
}

/// An ECDSA P-256 self-signed certificate for DTLS, and its SHA-256 fingerprint as SDP writes it
/// (`a=fingerprint:sha-256 AB:CD:...`). Immutable once made; share one per process or per room.
public final class DTLSCertificate: @unchecked Sendable {
    let x509: OpaquePointer
    let privateKey: OpaquePointer
    /// Upper-case hex pairs joined by ':'.
    public let fingerprint: String
    public static let fingerprintAlgorithm = "sha-256"
    /// The OpenSSL context all of this certificate's transports share (see `DTLSContext`).
    let contexts = DTLSContextCache()

    public init(commonName: String = "sluice", validityDays: Int = 30) throws(DTLSError) {
        ERR_clear_error()
        guard let key = sluice_ec_p256_keygen() else { throw .certificateGeneration(openSSLErrors()) }
        guard let cert = X509_new() else {
            EVP_PKEY_free(key)
            throw .certificateGeneration(openSSLErrors())
        }
        var ok = X509_set_version(cert, 2) == 1
        ok = ok && ASN1_INTEGER_set(X509_get_serialNumber(cert), Int.random(in: 1...Int(Int32.max))) == 1
        ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert), -86_400) != nil
        ok = ok && X509_gmtime_adj(X509_getm_notAfter(cert), validityDays * 86_400) != nil
        ok = ok && X509_set_pubkey(cert, key) == 1
        if ok, let name = X509_get_subject_name(cert) {
            ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, commonName, -1, -1, 0) == 1
            ok = ok && X509_set_issuer_name(cert, name) == 1
        } else {
            ok = false
        }
        ok = ok && X509_sign(cert, key, EVP_sha256()) > 0
        guard ok, let fp = DTLSCertificate.fingerprint(of: cert) else {
            let message = openSSLErrors()
            X509_free(cert)
            EVP_PKEY_free(key)
            throw .certificateGeneration(message)
        }
        self.x509 = cert
        self.privateKey = key
        self.fingerprint = fp
    }

    deinit {
        X509_free(x509)
        EVP_PKEY_free(privateKey)
    }

    /// SHA-256 fingerprint of a certificate, "AB:CD:...".
    static func fingerprint(of cert: OpaquePointer) -> String? {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(cert, EVP_sha256(), &digest, &length) == 1 else { return nil }
        return formatFingerprint(digest[0..<Int(length)])
    }

    static func formatFingerprint(_ bytes: some Collection<UInt8>) -> String {
        let hex: [Character] = Array("0123456789ABCDEF")
        var out = ""
        out.reserveCapacity(bytes.count * 3)
        for (i, b) in bytes.enumerated() {
            if i > 0 { out.append(":") }
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0x0f)])
        }
        return out
    }

    /// Compares fingerprints ignoring case (SDP peers may send lower case).
    public static func fingerprintsMatch(_ a: String, _ b: String) -> Bool {
        a.uppercased() == b.uppercased()
    }
}
