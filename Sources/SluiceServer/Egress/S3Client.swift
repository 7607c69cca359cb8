import CCurl
import CShims
import Foundation

/// Uploads files to S3-compatible storage with libcurl's easy interface: curl signs each request
/// (CURLOPT_AWS_SIGV4, payload declared UNSIGNED-PAYLOAD so a part is streamed from disk, not
/// hashed first) and reads bodies straight from the file. Blocking: run it off the media threads
/// (`EgressManager` gives each upload its own thread).
struct S3Client: Sendable {
    struct Settings: Sendable, Equatable {
        /// Files larger than this go up in parts.
        var multipartThreshold: Int64 = 16 << 20
        /// S3's minimum is 5 MiB for every part but the last; some S3-compatible servers take less.
        var partSize: Int64 = 8 << 20
        /// Further attempts of a request that failed in a way worth retrying (network, 5xx, throttling).
        var maxRetries = 3
        /// The first retry's delay; each further one doubles it (up to 20 s).
        var retryDelay: Double = 0.5
    }

    /// What the storage said (its error code and message) or why nothing was said.
    struct Failure: Error, CustomStringConvertible, Equatable {
        var description: String
        var retryable: Bool
    }

    struct Response {
        var status: Int
        var body: String
        var headers: [(String, String)]

        func header(_ name: String) -> String? {
            headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
        }
    }

    enum Body {
        case none
        case bytes([UInt8])
        case file(fd: Int32, range: Range<Int64>)
    }

    let settings: Settings

    /// curl_global_init is not thread-safe; a static let runs it once, before the first handle.
    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    /// Uploads `path` as `key`; returns the object's URL once the storage has confirmed it.
    func upload(path: String, key: String, to destination: S3Destination) throws(Failure) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))", retryable: false) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(description: "cannot stat \(path)", retryable: false) }
        let size = Int64(st.st_size)
        let url = destination.objectURL(key: key)
        let headers = objectHeaders(destination, key: key)
        guard let parts = S3PartPlan.parts(fileSize: size, threshold: settings.multipartThreshold,
                                           partSize: settings.partSize) else {
            _ = try request("PUT", url, destination, headers: headers, body: .file(fd: fd, range: 0..<size))
            return url
        }
        let created = try request("POST", url + "?uploads=", destination, headers: headers, body: .none)
        guard let uploadID = Self.element("UploadId", in: created.body) else {
            throw Failure(description: "CreateMultipartUpload answered without an UploadId", retryable: false)
        }
        let encodedID = S3Destination.encodePath(uploadID).replacingOccurrences(of: "/", with: "%2F")
        do throws(Failure) {
            var etags: [String] = []
            for (index, range) in parts.enumerated() {
                let response = try request("PUT", url + "?partNumber=\(index + 1)&uploadId=\(encodedID)", destination,
                                           headers: [], body: .file(fd: fd, range: range))
                guard let etag = response.header("ETag") else {
                    throw Failure(description: "UploadPart \(index + 1) answered without an ETag", retryable: false)
                }
                etags.append(etag)
            }
            var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            for (index, etag) in etags.enumerated() {
                xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(Self.escapeXML(etag))</ETag></Part>"
            }
            xml += "</CompleteMultipartUpload>"
            let done = try request("POST", url + "?uploadId=\(encodedID)", destination,
                                   headers: ["Content-Type: application/xml"], body: .bytes(Array(xml.utf8)))
            // S3 can answer 200 and still fail the completion; the error is then in the body.
            if let code = Self.element("Code", in: done.body), Self.element("CompleteMultipartUploadResult", in: done.body) == nil {
                throw Failure(description: "\(code): \(Self.element("Message", in: done.body) ?? "")", retryable: false)
            }
        } catch {
            // Abort so the storage does not keep (and bill) the parts; the error that matters is the first.
            _ = try? request("DELETE", url + "?uploadId=\(encodedID)", destination, headers: [], body: .none)
            throw error
        }
        return url
    }

    /// Headers stored with the object: its type, metadata, tags and disposition.
    private func objectHeaders(_ d: S3Destination, key: String) -> [String] {
        var headers = ["Content-Type: \(Self.contentType(key))"]
        for (name, value) in d.metadata.sorted(by: { $0.key < $1.key }) {
            headers.append("x-amz-meta-\(name.lowercased()): \(value)")
        }
        if !d.tagging.isEmpty { headers.append("x-amz-tagging: \(d.tagging)") }
        if !d.contentDisposition.isEmpty { headers.append("Content-Disposition: \(d.contentDisposition)") }
        return headers
    }

    static func contentType(_ key: String) -> String {
        switch (key as NSString).pathExtension.lowercased() {
        case "mp4": "video/mp4"
        case "webm": "video/webm"
        case "ogg": "audio/ogg"
        case "mp3": "audio/mpeg"
        case "ts": "video/mp2t"
        case "m3u8": "application/vnd.apple.mpegurl"
        case "m4s": "video/iso.segment"
        default: "application/octet-stream"
        }
    }

    /// One request, retried with exponential backoff while the failure is worth retrying.
    func request(_ method: String, _ url: String, _ d: S3Destination, headers: [String], body: Body) throws(Failure) -> Response {
        var attempt = 0
        while true {
            do {
                return try perform(method, url, d, headers: headers, body: body)
            } catch {
                guard error.retryable, attempt < settings.maxRetries else {
                    // Say how hard it was tried, so "connection refused" after a minute of retries reads as such.
                    guard attempt > 0 else { throw error }
                    throw Failure(description: "\(error.description) (after \(attempt + 1) attempts)", retryable: false)
                }
                let delay = min(settings.retryDelay * Double(1 << min(attempt, 16)), 20)
                attempt += 1
                Thread.sleep(forTimeInterval: delay)
            }
        }
    }

    private func perform(_ method: String, _ url: String, _ d: S3Destination, headers: [String], body: Body) throws(Failure) -> Response {
        guard Self.globalInit, let curl = curl_easy_init() else {
            throw Failure(description: "libcurl could not be initialised", retryable: false)
        }
        defer { curl_easy_cleanup(curl) }
        var list: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(list) }
        // Declared rather than hashed: parts are streamed from the file (S3 accepts this over TLS
        // and plain HTTP alike); curl puts the header into the signature.
        var all = headers + ["x-amz-content-sha256: UNSIGNED-PAYLOAD"]
        if !d.sessionToken.isEmpty { all.append("x-amz-security-token: \(d.sessionToken)") }
        // No "Expect:" override here: curl 7.88 would sign the emptied header without sending it.
        // Its own "Expect: 100-continue" is added after signing, and lets the storage refuse a bad
        // signature before the body is sent.
        for header in all { list = curl_slist_append(list, header) }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        // curl keeps these pointers until curl_easy_perform returns, so they are allocated here
        // rather than passed as `&local` (valid only for the duration of one call).
        let responseBody = UnsafeMutablePointer<SluiceCurlBuffer>.allocate(capacity: 1)
        let responseHeaders = UnsafeMutablePointer<SluiceCurlBuffer>.allocate(capacity: 1)
        let fileBody = UnsafeMutablePointer<SluiceCurlFileBody>.allocate(capacity: 1)
        responseBody.initialize(to: SluiceCurlBuffer(data: nil, length: 0))
        responseHeaders.initialize(to: SluiceCurlBuffer(data: nil, length: 0))
        fileBody.initialize(to: SluiceCurlFileBody(fd: -1, offset: 0, remaining: 0))
        defer {
            sluice_curl_buffer_free(responseBody)
            sluice_curl_buffer_free(responseHeaders)
            responseBody.deallocate()
            responseHeaders.deallocate()
            fileBody.deallocate()
        }
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
            var rc = sluice_curl_setopt_string(curl, CURLOPT_URL, url)
            func set(_ next: CURLcode) { if rc == CURLE_OK { rc = next } }
            set(sluice_curl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errors.baseAddress))
            set(sluice_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1))
            set(sluice_curl_setopt_string(curl, CURLOPT_AWS_SIGV4, "aws:amz:\(d.region):s3"))
            set(sluice_curl_setopt_string(curl, CURLOPT_USERNAME, d.accessKey))
            set(sluice_curl_setopt_string(curl, CURLOPT_PASSWORD, d.secret))
            set(sluice_curl_setopt_pointer(curl, CURLOPT_HTTPHEADER, list))
            set(sluice_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT, 15))
            // A stalled transfer (under 1 byte/s for a minute) fails and is retried, rather than hanging the egress.
            set(sluice_curl_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1))
            set(sluice_curl_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, 60))
            set(sluice_curl_collect_response(curl, responseBody, responseHeaders))
            switch body {
            case .none:
                if method == "POST" {
                    set(sluice_curl_setopt_long(curl, CURLOPT_POST, 1))
                    set(sluice_curl_setopt_off(curl, CURLOPT_POSTFIELDSIZE_LARGE, 0))
                    set(sluice_curl_setopt_string(curl, CURLOPT_COPYPOSTFIELDS, ""))
                } else {
                    set(sluice_curl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, method))
                }
            case .bytes(let bytes):
                set(sluice_curl_setopt_off(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count)))
                bytes.withUnsafeBufferPointer { buffer in
                    buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                        set(sluice_curl_setopt_string(curl, CURLOPT_COPYPOSTFIELDS, $0))
                    }
                }
                set(sluice_curl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, method))
            case .file(let fd, let range):
                fileBody.pointee = SluiceCurlFileBody(fd: fd, offset: off_t(range.lowerBound), remaining: off_t(range.count))
                set(sluice_curl_upload_file(curl, fileBody, curl_off_t(range.count)))
                if method != "PUT" { set(sluice_curl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, method)) }
            }
            guard rc == CURLE_OK else { return rc }
            return curl_easy_perform(curl)
        }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            throw Failure(description: "\(method) \(Self.redacted(url)) failed: \(reason)", retryable: true)
        }
        let status = sluice_curl_response_code(curl)
        let text = responseBody.pointee.data.map { String(cString: $0) } ?? ""
        let headerText = responseHeaders.pointee.data.map { String(cString: $0) } ?? ""
        let response = Response(status: status, body: text, headers: Self.parseHeaders(headerText))
        guard (200..<300).contains(status) else {
            let code = Self.element("Code", in: text)
            let message = Self.element("Message", in: text)
            let what = [code, message].compactMap { $0 }.joined(separator: ": ")
            let retryable = status >= 500 || status == 429 || ["RequestTimeout", "SlowDown", "InternalError"].contains(code ?? "")
            throw Failure(description: "\(method) \(Self.redacted(url)) answered HTTP \(status)" + (what.isEmpty ? "" : " \(what)"),
                          retryable: retryable)
        }
        return response
    }

    /// A URL for a log or error: the upload id is noise, the query is dropped.
    static func redacted(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }

    /// The last response's header lines (a 100 Continue or redirect puts earlier blocks first).
    static func parseHeaders(_ text: String) -> [(String, String)] {
        var headers: [(String, String)] = []
        // "\r\n" is one Character in Swift, so lines are split on isNewline, not on "\r" or "\n".
        for line in text.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("HTTP/") { headers.removeAll(); continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                            String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        return headers
    }

    /// The text of the first `<name>` element (S3's answers are small, flat XML).
    static func element(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>") ?? xml.range(of: "<\(name) ") else { return nil }
        var start = open.upperBound
        if xml[open].hasSuffix(" ") {
            guard let close = xml[start...].firstIndex(of: ">") else { return nil }
            start = xml.index(after: close)
        }
        guard let end = xml.range(of: "</\(name)>", range: start..<xml.endIndex) else { return "" }
        return String(xml[start..<end.lowerBound])
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#34;", with: "\"")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escapeXML(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
