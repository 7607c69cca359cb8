import COpenSSL
import CShims
import Synchronization

/// One OpenSSL `SSL_CTX` for every DTLS transport of a certificate.
///
/// Why shared: everything in the context is the same for all of a certificate's transports (the
/// certificate and key, DTLS 1.2 minimum, the SRTP profiles, peer verification by the SDP
/// fingerprint). OpenSSL 3 makes a context slowly (it fetches every method and builds a
/// certificate store) and keeps tens of kilobytes in it; one per transport costs that per viewer
/// and per join. OpenSSL allows `SSL_new` on one context from many threads (its reference count
/// is atomic), and nothing here changes the context after it is made.
final class DTLSContext: @unchecked Sendable {
    let pointer: OpaquePointer

    init(certificate: DTLSCertificate, srtpProfiles: String,
         verify: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32) throws(DTLSError) {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(DTLS_method()) else { throw .contextSetup(openSSLErrors()) }
        sluice_ssl_ctx_set_dtls12_min(ctx)
        guard SSL_CTX_use_certificate(ctx, certificate.x509) == 1,
              SSL_CTX_use_PrivateKey(ctx, certificate.privateKey) == 1,
              SSL_CTX_check_private_key(ctx) == 1 else {
            SSL_CTX_free(ctx)
            throw .contextSetup(openSSLErrors())
        }
        // Returns 0 on success (sic).
        guard SSL_CTX_set_tlsext_use_srtp(ctx, srtpProfiles) == 0 else {
            SSL_CTX_free(ctx)
            throw .contextSetup(openSSLErrors())
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        // Replace chain verification: the certificate is self-signed; trust is the SDP
        // fingerprint, which `verify` checks for the transport the SSL object belongs to.
        SSL_CTX_set_cert_verify_callback(ctx, verify, nil)
        pointer = ctx
    }

    deinit { SSL_CTX_free(pointer) }
}

/// The certificate's context, made by the first transport that needs it.
final class DTLSContextCache: Sendable {
    private let context = Mutex<DTLSContext?>(nil)

    func get(_ make: () throws(DTLSError) -> DTLSContext) throws(DTLSError) -> DTLSContext {
        // Made under the lock: two first transports racing on two workers make one context.
        let result: Result<DTLSContext, DTLSError> = context.withLock { cached in
            if let cached { return .success(cached) }
            do throws(DTLSError) {
                let made = try make()
                cached = made
                return .success(made)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
