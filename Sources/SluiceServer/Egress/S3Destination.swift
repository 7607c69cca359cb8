import Foundation
import LiveKitProto

/// Where a finished recording is uploaded: an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2,
/// GCS in interoperability mode), from a request's `S3Upload` or the server-wide `recordings.s3`
/// default. Its description never shows the secret or session token.
struct S3Destination: Sendable, Equatable, CustomStringConvertible {
    var accessKey = ""
    var secret = ""
    var sessionToken = ""
    /// AWS's default region when none is given: SigV4 needs one, and S3-compatible servers accept any.
    var region = "us-east-1"
    /// Empty for AWS itself; otherwise the server's base URL (`http://127.0.0.1:9000`, an R2 account URL...).
    var endpoint = ""
    var bucket = ""
    /// `endpoint/bucket/key` instead of `bucket.endpoint/key` (MinIO and most self-hosted servers).
    var forcePathStyle = false
    var metadata: [String: String] = [:]
    /// `key=value&key2=value2`, as S3's `x-amz-tagging` header takes it.
    var tagging = ""
    var contentDisposition = ""

    init() {}

    /// A request's `S3Upload`, taken whole: the server's default keys are never sent to an endpoint
    /// a request names, so a request either gives its own credentials or gives no upload at all.
    init(_ upload: Livekit_S3Upload) {
        accessKey = upload.accessKey
        secret = upload.secret
        sessionToken = upload.sessionToken
        if !upload.region.isEmpty { region = upload.region }
        endpoint = upload.endpoint
        bucket = upload.bucket
        forcePathStyle = upload.forcePathStyle
        metadata = upload.metadata
        tagging = upload.tagging
        contentDisposition = upload.contentDisposition
    }

    /// The server-wide default (`recordings.s3`).
    init(_ config: ServerConfig.S3) {
        accessKey = config.accessKey
        secret = config.secret
        sessionToken = config.sessionToken
        region = config.region
        endpoint = config.endpoint
        bucket = config.bucket
        forcePathStyle = config.forcePathStyle
    }

    /// What a request is missing before anything is recorded, or nil.
    var problem: String? {
        if bucket.isEmpty { return "s3 upload needs a bucket" }
        if accessKey.isEmpty || secret.isEmpty { return "s3 upload needs access_key and secret" }
        if !endpoint.isEmpty, URLComponents(string: endpoint)?.host == nil || !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
            return "s3 endpoint \"\(endpoint)\" is not an http(s) URL"
        }
        return nil
    }

    var description: String {
        "s3 bucket \(bucket) region \(region)" + (endpoint.isEmpty ? "" : " endpoint \(endpoint)")
            + (forcePathStyle ? " path-style" : "") + " key id \(accessKey)"
    }

    /// The object's URL, which is also what the requests go to. Like LiveKit: AWS's virtual-host
    /// form `https://bucket.s3.region.amazonaws.com/key` by default, `endpoint/bucket/key` with
    /// force_path_style.
    func objectURL(key: String) -> String {
        let path = Self.encodePath(key)
        let base = endpoint.isEmpty ? "https://s3.\(region).amazonaws.com" : String(endpoint.trimmingSuffix("/"))
        if forcePathStyle { return "\(base)/\(Self.encodePath(bucket))/\(path)" }
        guard var components = URLComponents(string: base), let host = components.host else {
            return "\(base)/\(Self.encodePath(bucket))/\(path)"
        }
        components.host = "\(bucket).\(host)"
        return "\(components.string ?? base)/\(path)"
    }

    /// S3's URI encoding of an object key: everything but RFC 3986's unreserved characters and
    /// `/` is percent-encoded, which is also what the SigV4 canonical URI expects.
    static func encodePath(_ key: String) -> String {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/".utf8)
        var out = ""
        for byte in key.utf8 {
            if unreserved.contains(byte) { out.append(Character(UnicodeScalar(byte))) }
            else { out += String(format: "%%%02X", byte) }
        }
        return out
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: Character) -> Substring {
        var s = Substring(self)
        while s.last == suffix { s = s.dropLast() }
        return s
    }
}

/// How large files are split: S3 takes one PUT up to 5 GiB, but a multipart upload resends only
/// a failed part and streams in bounded requests.
struct S3PartPlan: Equatable, Sendable {
    /// S3 allows at most 10,000 parts per upload.
    static let maxParts: Int64 = 10_000

    /// Byte ranges of the parts for a file of `size`, or nil when one PUT does (size <= threshold).
    /// Parts are `partSize` bytes (the last takes the rest); a file that would need more than
    /// 10,000 parts gets larger parts instead.
    static func parts(fileSize size: Int64, threshold: Int64, partSize: Int64) -> [Range<Int64>]? {
        guard size > threshold, size > 0 else { return nil }
        let minimum = (size + maxParts - 1) / maxParts
        let part = max(partSize, minimum, 1)
        var ranges: [Range<Int64>] = []
        var offset: Int64 = 0
        while offset < size {
            let end = min(offset + part, size)
            ranges.append(offset..<end)
            offset = end
        }
        return ranges
    }
}

extension EgressManager.Uploads {
    /// From the config: its default bucket (if any) and its split and retry settings.
    init(_ config: ServerConfig.S3?) {
        defaultDestination = config.map { S3Destination($0) }
        var settings = S3Client.Settings()
        if let config {
            settings.maxRetries = config.maxRetries
            settings.partSize = config.partSize
            settings.multipartThreshold = config.multipartThreshold
        }
        client = S3Client(settings: settings)
    }
}
