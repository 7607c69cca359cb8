import COpenSSL
import CShims

/// Events from a `DTLSTransport`, delivered synchronously on the thread that drives it.
public protocol DTLSTransportDelegate: AnyObject {
    /// One DTLS datagram to put on the wire (valid only during the call).
    func dtlsTransport(_ transport: DTLSTransport, send datagram: UnsafeRawBufferPointer)
    func dtlsTransport(_ transport: DTLSTransport, didChangeState state: DTLSTransport.State)
    /// Decrypted application data (SCTP), valid only during the call.
    func dtlsTransport(_ transport: DTLSTransport, didReceive applicationData: UnsafeRawBufferPointer)
}

/// SRTP keys derived from a finished DTLS-SRTP handshake (RFC 5764 section 4.2).
public struct DTLSSRTPKeys: Sendable, Equatable {
    public var profile: SRTPProfile
    /// Keys this side protects with (client write keys for the DTLS client).
    public var local: SRTPKeyingMaterial
    /// Keys this side unprotects with.
    public var remote: SRTPKeyingMaterial
}

/// DTLS 1.2 over OpenSSL with a memory read BIO and a datagram write BIO, so it never touches a
/// socket: feed it datagrams with `handleDatagram`, and it emits datagrams through the delegate.
/// Verifies the peer certificate against the SDP fingerprint, negotiates DTLS-SRTP (GCM first)
/// and exports the SRTP keys. Loop-confined: drive it from one thread (its worker).
public final class DTLSTransport {
    public enum Role: Sendable, Equatable {
        /// DTLS client, SDP `a=setup:active`.
        case client
        /// DTLS server, SDP `a=setup:passive`.
        case server
    }

    public enum State: Sendable, Equatable {
        case new, connecting, connected, closed
        case failed(DTLSError)
    }

    public static let srtpProfiles: [SRTPProfile] = [.aeadAes128Gcm, .aes128CmHmacSha1_80]
    /// DTLS record payload budget per datagram.
    public static let mtu = 1200

    public let role: Role
    public let certificate: DTLSCertificate
    /// The fingerprint from the peer's SDP; must be set before the peer's certificate arrives.
    public var remoteFingerprint: String?
    public weak var delegate: (any DTLSTransportDelegate)?
    public private(set) var state: State = .new
    public private(set) var srtpKeys: DTLSSRTPKeys?
    /// The fingerprint the peer actually presented, once seen.
    public private(set) var peerFingerprint: String?

    /// Kept for the transport's life (the SSL object also holds a reference of its own).
    private let context: DTLSContext
    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let readBuffer: UnsafeMutableRawBufferPointer
    private var verifyFailure: DTLSError?
    private var timer: LoopTimer?

    /// - Parameter worker: when given, the retransmission timer runs on that worker's loop (the
    ///   transport must then be driven on that worker). Without it, call `handleTimeout()` yourself
    ///   after `timeoutMilliseconds`.
    public init(certificate: DTLSCertificate, role: Role, remoteFingerprint: String?,
                worker: MediaWorker? = nil) throws(DTLSError) {
        self.role = role
        self.certificate = certificate
        self.remoteFingerprint = remoteFingerprint
        let shared = try certificate.contexts.get { () throws(DTLSError) in
            try DTLSContext(certificate: certificate,
                            srtpProfiles: DTLSTransport.srtpProfiles.map(\.openSSLName).joined(separator: ":"),
                            verify: { store, _ in
                                guard let store, let ssl = sluice_x509_store_ctx_get_ssl(store),
                                      let me = sluice_ssl_get_app_data(ssl) else { return 0 }
                                return Unmanaged<DTLSTransport>.fromOpaque(me).takeUnretainedValue().verifyPeer(store) ? 1 : 0
                            })
        }
        ERR_clear_error()
        let ctx = shared.pointer
        guard let ssl = SSL_new(ctx) else { throw .contextSetup(openSSLErrors()) }
        guard let rbio = sluice_mem_read_bio_new() else {
            SSL_free(ssl)
            throw .contextSetup(openSSLErrors())
        }
        self.context = shared
        self.ssl = ssl
        self.readBIO = rbio
        // The largest plaintext a DTLS record carries (2^14, RFC 6347/5246): SSL_read returns at
        // most one record, so a larger buffer would only cost memory on every transport.
        self.readBuffer = .allocate(byteCount: 1 << 14, alignment: 16)
        guard let wbio = sluice_datagram_write_bio_new({ me, bytes, length in
            guard let me, let bytes else { return }
            Unmanaged<DTLSTransport>.fromOpaque(me).takeUnretainedValue()
                .emit(UnsafeRawBufferPointer(start: bytes, count: length))
        }, Unmanaged.passUnretained(self).toOpaque()) else {
            BIO_free(rbio)
            throw .contextSetup(openSSLErrors())
        }
        SSL_set_bio(ssl, rbio, wbio)
        _ = sluice_ssl_set_app_data(ssl, Unmanaged.passUnretained(self).toOpaque())
        sluice_ssl_set_mtu(ssl, DTLSTransport.mtu)
        switch role {
        case .client: SSL_set_connect_state(ssl)
        case .server: SSL_set_accept_state(ssl)
        }
        if let worker {
            timer = LoopTimer(worker: worker) { [weak self] in self?.handleTimeout() }
        }
    }

    deinit {
        timer?.cancel()
        SSL_free(ssl)  // frees both BIOs
        readBuffer.deallocate()
    }

    /// Starts the handshake. The client sends its ClientHello now; the server waits.
    public func start() {
        guard state == .new else { return }
        setState(.connecting)
        if role == .client { advanceHandshake() }
        armTimer()
    }

    /// Feeds one received DTLS datagram.
    public func handleDatagram(_ datagram: UnsafeRawBufferPointer) {
        guard let base = datagram.baseAddress, datagram.count > 0 else { return }
        switch state {
        case .closed, .failed: return
        case .new: setState(.connecting)  // a server may see the ClientHello before start()
        case .connecting, .connected: break
        }
        guard BIO_write(readBIO, base, Int32(datagram.count)) == Int32(datagram.count) else { return }
        if state == .connecting {
            advanceHandshake()
        }
        if state == .connected {
            readApplicationData()
        }
        armTimer()
    }

    /// Milliseconds until the handshake retransmission timer expires, or nil if none is armed.
    public var timeoutMilliseconds: Int? {
        let ms = sluice_dtls_get_timeout_ms(ssl)
        return ms < 0 ? nil : ms
    }

    /// Retransmits the last flight if its timer has expired.
    public func handleTimeout() {
        guard state == .connecting else { return }
        ERR_clear_error()
        if sluice_dtls_handle_timeout(ssl) < 0 {
            fail(.handshakeFailed("retransmission: " + openSSLErrors()))
            return
        }
        armTimer()
    }

    /// Sends application data (one DTLS record).
    public func send(_ data: UnsafeRawBufferPointer) throws(DTLSError) {
        guard state == .connected else { throw .notConnected }
        guard let base = data.baseAddress, data.count > 0 else { return }
        ERR_clear_error()
        let written = SSL_write(ssl, base, Int32(data.count))
        guard written == Int32(data.count) else { throw .writeFailed(openSSLErrors()) }
    }

    public func send(_ bytes: [UInt8]) throws(DTLSError) {
        let result: Result<Void, DTLSError> = bytes.withUnsafeBytes { raw in
            do throws(DTLSError) { try send(raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Sends close_notify and stops.
    public func close() {
        guard state == .connected || state == .connecting else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        timer?.cancel()
        setState(.closed)
    }

    // MARK: Internals

    private func advanceHandshake() {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            if let failure = verifyFailure { fail(failure); return }
            do throws(DTLSError) {
                srtpKeys = try exportSRTPKeys()
            } catch {
                fail(error); return
            }
            timer?.cancel()
            setState(.connected)
            return
        }
        let error = SSL_get_error(ssl, result)
        switch error {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return
        default:
            fail(verifyFailure ?? .handshakeFailed("SSL error \(error): " + openSSLErrors()))
        }
    }

    private func readApplicationData() {
        while state == .connected {
            ERR_clear_error()
            let n = SSL_read(ssl, readBuffer.baseAddress, Int32(readBuffer.count))
            if n > 0 {
                delegate?.dtlsTransport(self, didReceive: UnsafeRawBufferPointer(rebasing: readBuffer[0..<Int(n)]))
                continue
            }
            let error = SSL_get_error(ssl, n)
            switch error {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return
            case SSL_ERROR_ZERO_RETURN: setState(.closed); return
            default: fail(.handshakeFailed("read: SSL error \(error): " + openSSLErrors())); return
            }
        }
    }

    private func armTimer() {
        guard let timer else { return }
        guard state == .connecting, let ms = timeoutMilliseconds else { timer.cancel(); return }
        timer.schedule(afterMilliseconds: ms)
    }

    fileprivate func verifyPeer(_ store: OpaquePointer) -> Bool {
        guard let cert = X509_STORE_CTX_get0_cert(store), let actual = DTLSCertificate.fingerprint(of: cert) else {
            verifyFailure = .handshakeFailed("peer sent no certificate")
            return false
        }
        peerFingerprint = actual
        guard let expected = remoteFingerprint else {
            verifyFailure = .missingRemoteFingerprint
            return false
        }
        guard DTLSCertificate.fingerprintsMatch(expected, actual) else {
            verifyFailure = .fingerprintMismatch(expected: expected, actual: actual)
            return false
        }
        return true
    }

    private func exportSRTPKeys() throws(DTLSError) -> DTLSSRTPKeys {
        guard let selected = SSL_get_selected_srtp_profile(ssl),
              let profile = SRTPProfile(rawValue: UInt16(truncatingIfNeeded: selected.pointee.id)) else {
            throw .noSRTPProfile
        }
        let keyLength = profile.keyLength, saltLength = profile.saltLength
        var material = [UInt8](repeating: 0, count: 2 * (keyLength + saltLength))
        let label = "EXTRACTOR-dtls_srtp"
        let ok = label.withCString { cLabel in
            SSL_export_keying_material(ssl, &material, material.count, cLabel, label.utf8.count, nil, 0, 0)
        }
        guard ok == 1 else { throw .keyExport(openSSLErrors()) }
        // client_write_key | server_write_key | client_write_salt | server_write_salt
        let clientKey = Array(material[0..<keyLength])
        let serverKey = Array(material[keyLength..<2 * keyLength])
        let clientSalt = Array(material[2 * keyLength..<2 * keyLength + saltLength])
        let serverSalt = Array(material[2 * keyLength + saltLength..<2 * (keyLength + saltLength)])
        let client = SRTPKeyingMaterial(profile: profile, key: clientKey, salt: clientSalt)
        let server = SRTPKeyingMaterial(profile: profile, key: serverKey, salt: serverSalt)
        return role == .client
            ? DTLSSRTPKeys(profile: profile, local: client, remote: server)
            : DTLSSRTPKeys(profile: profile, local: server, remote: client)
    }

    fileprivate func emit(_ datagram: UnsafeRawBufferPointer) {
        delegate?.dtlsTransport(self, send: datagram)
    }

    private func fail(_ error: DTLSError) {
        timer?.cancel()
        setState(.failed(error))
    }

    private func setState(_ new: State) {
        guard state != new else { return }
        state = new
        delegate?.dtlsTransport(self, didChangeState: new)
    }
}
