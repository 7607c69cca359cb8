import CSRTP
import Synchronization

/// The DTLS-SRTP protection profiles we negotiate (RFC 5764, RFC 7714). GCM is preferred.
public enum SRTPProfile: UInt16, Sendable, CaseIterable {
    case aes128CmHmacSha1_80 = 0x0001
    case aeadAes128Gcm = 0x0007

    /// Master key length in bytes.
    public var keyLength: Int { 16 }
    /// Master salt length in bytes.
    public var saltLength: Int {
        switch self {
        case .aes128CmHmacSha1_80: 14
        case .aeadAes128Gcm: 12
        }
    }
    /// OpenSSL's name, as in `SSL_CTX_set_tlsext_use_srtp`.
    public var openSSLName: String {
        switch self {
        case .aes128CmHmacSha1_80: "SRTP_AES128_CM_SHA1_80"
        case .aeadAes128Gcm: "SRTP_AEAD_AES_128_GCM"
        }
    }
}

/// A master key and salt for one direction.
public struct SRTPKeyingMaterial: Sendable, Equatable {
    public var profile: SRTPProfile
    public var key: [UInt8]
    public var salt: [UInt8]
    public init(profile: SRTPProfile, key: [UInt8], salt: [UInt8]) {
        self.profile = profile; self.key = key; self.salt = salt
    }
}

public enum SRTPError: Error, Sendable, Equatable {
    case badKeyLength
    case bufferTooSmall
    case authenticationFailed
    case replayed
    case badPacket
    case library(Int32)

    init(_ status: srtp_err_status_t) {
        switch status {
        case srtp_err_status_auth_fail, srtp_err_status_cipher_fail: self = .authenticationFailed
        case srtp_err_status_replay_fail, srtp_err_status_replay_old: self = .replayed
        case srtp_err_status_bad_param, srtp_err_status_parse_err: self = .badPacket
        default: self = .library(Int32(bitPattern: status.rawValue))
        }
    }
}

/// One libsrtp2 session for one direction. `outbound` protects, `inbound` unprotects; any SSRC.
/// Not thread safe: use it from the worker that owns the transport.
public final class SRTPSession {
    public enum Direction: Sendable { case inbound, outbound }
    /// Bytes a protected RTP packet may grow by: the auth tag (10 for SHA1_80, 16 for GCM); no MKI.
    public static let maxRTPTrailer = Int(SRTP_MAX_TAG_LEN)
    /// Bytes a protected RTCP packet may grow by: the tag plus the 4-byte E flag + SRTCP index.
    public static let maxRTCPTrailer = Int(SRTP_MAX_TAG_LEN) + 4

    public let direction: Direction
    public let profile: SRTPProfile
    private var session: srtp_t?

    private static let initialized: Void = {
        let status = srtp_init()
        precondition(status == srtp_err_status_ok, "srtp_init failed: \(status)")
    }()

    public init(_ keys: SRTPKeyingMaterial, direction: Direction, replayWindow: UInt = 1024) throws(SRTPError) {
        _ = SRTPSession.initialized
        guard keys.key.count == keys.profile.keyLength, keys.salt.count == keys.profile.saltLength else {
            throw .badKeyLength
        }
        self.direction = direction
        self.profile = keys.profile
        var policy = srtp_policy_t()
        switch keys.profile {
        case .aes128CmHmacSha1_80:
            srtp_crypto_policy_set_rtp_default(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aeadAes128Gcm:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        }
        policy.ssrc.type = direction == .inbound ? ssrc_any_inbound : ssrc_any_outbound
        policy.window_size = replayWindow
        // Retransmissions (NACK) legitimately resend a sequence number.
        policy.allow_repeat_tx = 1
        policy.next = nil
        var master = keys.key + keys.salt
        var created: srtp_t?
        let status = master.withUnsafeMutableBufferPointer { buf -> srtp_err_status_t in
            policy.key = buf.baseAddress
            return srtp_create(&created, &policy)
        }
        guard status == srtp_err_status_ok, let created else { throw SRTPError(status) }
        session = created
    }

    deinit {
        if let session { srtp_dealloc(session) }
    }

    /// Encrypts the RTP packet occupying `buffer[0..<length]` in place; returns the new length.
    /// `buffer` must have `maxRTPTrailer` spare bytes after the packet.
    @inline(__always)
    public func protectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        try run(buffer, length: length, trailer: Self.maxRTPTrailer, srtp_protect)
    }

    /// Decrypts and authenticates the SRTP packet in `buffer[0..<length]` in place; returns the new length.
    @inline(__always)
    public func unprotectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        try run(buffer, length: length, trailer: 0, srtp_unprotect)
    }

    @inline(__always)
    public func protectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        try run(buffer, length: length, trailer: Self.maxRTCPTrailer, srtp_protect_rtcp)
    }

    @inline(__always)
    public func unprotectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SRTPError) -> Int {
        try run(buffer, length: length, trailer: 0, srtp_unprotect_rtcp)
    }

    @inline(__always)
    private func run(_ buffer: UnsafeMutableRawBufferPointer, length: Int, trailer: Int,
                     _ fn: (srtp_t?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?) -> srtp_err_status_t)
        throws(SRTPError) -> Int {
        guard length >= 0, length + trailer <= buffer.count, let base = buffer.baseAddress else {
            throw .bufferTooSmall
        }
        guard length >= 4 else { throw .badPacket }
        var len = Int32(length)
        let status = fn(session, base, &len)
        guard status == srtp_err_status_ok else { throw SRTPError(status) }
        return Int(len)
    }
}
