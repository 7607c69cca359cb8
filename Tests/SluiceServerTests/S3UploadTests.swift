import Foundation
import LiveKitProto
import Testing
@testable import SluiceServer

/// The pure parts of S3 uploads: how a file is split, where the object is, what the storage's
/// answers say, and the `recordings.s3` config. The requests themselves are exercised against a
/// real S3-compatible server in Interop/test_egress_s3.py.
@Suite struct S3UploadTests {
    @Test func smallFilesGoUpInOnePut() {
        #expect(S3PartPlan.parts(fileSize: 0, threshold: 100, partSize: 10) == nil)
        #expect(S3PartPlan.parts(fileSize: 100, threshold: 100, partSize: 10) == nil)
    }

    @Test func largeFilesAreSplitIntoPartsWithTheRestLast() {
        #expect(S3PartPlan.parts(fileSize: 101, threshold: 100, partSize: 40) == [0..<40, 40..<80, 80..<101])
        #expect(S3PartPlan.parts(fileSize: 120, threshold: 100, partSize: 40) == [0..<40, 40..<80, 80..<120])
        let mib: Int64 = 1 << 20
        let parts = S3PartPlan.parts(fileSize: 21 * mib, threshold: 16 * mib, partSize: 8 * mib)!
        #expect(parts.map(\.count) == [8 * mib, 8 * mib, 5 * mib].map { Int($0) })
    }

    @Test func partsGrowToStayWithinTenThousand() {
        // 100 GB in 8 MiB parts would be 11,921 parts; S3 allows 10,000.
        let size: Int64 = 100_000_000_000
        let parts = S3PartPlan.parts(fileSize: size, threshold: 16 << 20, partSize: 8 << 20)!
        #expect(parts.count <= 10_000)
        #expect(parts.first!.lowerBound == 0 && parts.last!.upperBound == size)
        #expect(zip(parts, parts.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
    }

    @Test func objectURLsAreLiveKitsLocations() {
        var d = S3Destination()
        d.bucket = "recs"
        d.region = "eu-west-1"
        #expect(d.objectURL(key: "room/a b.mp4") == "https://recs.s3.eu-west-1.amazonaws.com/room/a%20b.mp4")
        d.forcePathStyle = true
        #expect(d.objectURL(key: "room/x.mp4") == "https://s3.eu-west-1.amazonaws.com/recs/room/x.mp4")
        d.endpoint = "http://127.0.0.1:9000/"
        #expect(d.objectURL(key: "room/x.mp4") == "http://127.0.0.1:9000/recs/room/x.mp4")
        d.forcePathStyle = false
        d.endpoint = "https://account.r2.cloudflarestorage.com"
        #expect(d.objectURL(key: "x.mp4") == "https://recs.account.r2.cloudflarestorage.com/x.mp4")
    }

    @Test func keysAreEncodedAsSigV4Expects() {
        #expect(S3Destination.encodePath("a/b c+d~e_f.g-h/é") == "a/b%20c%2Bd~e_f.g-h/%C3%A9")
    }

    @Test func requestUploadsAreTakenWholeAndCheckedAndDescribedWithoutSecrets() {
        var upload = Livekit_S3Upload()
        upload.accessKey = "AKID"
        upload.secret = "very-secret"
        upload.bucket = "b"
        upload.endpoint = "http://127.0.0.1:9000"
        let d = S3Destination(upload)
        #expect(d.region == "us-east-1")  // SigV4 needs a region; S3-compatible servers take any
        #expect(d.problem == nil)
        #expect(!d.description.contains("very-secret"))
        var noBucket = d
        noBucket.bucket = ""
        #expect(noBucket.problem == "s3 upload needs a bucket")
        var noSecret = d
        noSecret.secret = ""
        #expect(noSecret.problem == "s3 upload needs access_key and secret")
        var badEndpoint = d
        badEndpoint.endpoint = "127.0.0.1:9000"
        #expect(badEndpoint.problem?.contains("not an http(s) URL") == true)
    }

    @Test func responseHeadersAreTheLastResponses() {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nETag: \"abc\"\r\nContent-Length: 0\r\n\r\n"
        let headers = S3Client.parseHeaders(text)
        #expect(headers.count == 2)
        #expect(S3Client.Response(status: 200, body: "", headers: headers).header("etag") == "\"abc\"")
    }

    @Test func storageErrorsAndResultsAreRead() {
        let error = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist.</Message></Error>
            """
        #expect(S3Client.element("Code", in: error) == "InvalidAccessKeyId")
        #expect(S3Client.element("Message", in: error) == "The AWS Access Key Id you provided does not exist.")
        let created = "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><UploadId>a&amp;b</UploadId></InitiateMultipartUploadResult>"
        #expect(S3Client.element("UploadId", in: created) == "a&b")
        #expect(S3Client.element("InitiateMultipartUploadResult", in: created) != nil)
        #expect(S3Client.element("Code", in: created) == nil)
        #expect(S3Client.escapeXML("\"e&<>\"") == "&quot;e&amp;&lt;&gt;&quot;")
    }

    @Test func contentTypesFollowTheContainer() {
        #expect(S3Client.contentType("a/b.mp4") == "video/mp4")
        #expect(S3Client.contentType("b.OGG") == "audio/ogg")
        #expect(S3Client.contentType("c") == "application/octet-stream")
    }

    @Test func objectKeysArePathsUnderTheRecordingsDirectory() {
        #expect(EgressOutputPath.relative("/data/rec/room/a.mp4", under: "/data/rec") == "room/a.mp4")
        #expect(EgressOutputPath.relative("/data/rec/a.mp4", under: "/data/rec/") == "a.mp4")
    }

    @Test func configS3BlockParses() throws {
        let c = try ConfigLoader.parse(yaml: """
            recordings:
              path: /tmp/rec
              s3:
                access_key: AKID
                secret: shh
                region: eu-central-1
                endpoint: http://127.0.0.1:9000
                bucket: recordings
                force_path_style: true
                max_retries: 5
                multipart_threshold: 10485760
                part_size: 5242880
            """)
        let s3 = try #require(c.recordingsS3)
        #expect(s3.accessKey == "AKID" && s3.secret == "shh" && s3.region == "eu-central-1")
        #expect(s3.endpoint == "http://127.0.0.1:9000" && s3.bucket == "recordings" && s3.forcePathStyle)
        #expect(s3.maxRetries == 5 && s3.multipartThreshold == 10_485_760 && s3.partSize == 5_242_880)
        let uploads = EgressManager.Uploads(s3)
        #expect(uploads.defaultDestination?.bucket == "recordings")
        #expect(uploads.client.settings.partSize == 5_242_880)
        #expect(try ConfigLoader.parse(yaml: "recordings:\n  path: /tmp/rec\n").recordingsS3 == nil)
    }

    @Test func badS3ConfigNamesKeyAndLine() {
        func failure(_ yaml: String) -> ConfigError? {
            do {
                _ = try ConfigLoader.parse(yaml: yaml)
                return nil
            } catch {
                return error as? ConfigError
            }
        }
        let base = "recordings:\n  s3:\n    access_key: k\n    secret: s\n    bucket: b\n"
        #expect(failure(base + "    part_size: 0\n").map { "\($0.key) line \($0.line ?? 0)" } == "recordings.s3.part_size line 6")
        #expect(failure(base + "    endpoint: minio:9000\n").map { "\($0.key) line \($0.line ?? 0)" } == "recordings.s3.endpoint line 6")
        #expect(failure(base + "    force_path_style: maybe\n")?.key == "recordings.s3.force_path_style")
        #expect(failure(base + "    bukket: x\n").map { "\($0.key): \($0.message)" } == "recordings.s3.bukket: unknown key")
        #expect(failure("recordings:\n  s3:\n    access_key: k\n    secret: s\n")?.key == "recordings.s3.bucket")
    }

    /// Nothing listens on the endpoint: curl's connection error is retried with backoff, then
    /// reported with the number of attempts; the file is untouched.
    @Test func unreachableStorageIsRetriedThenReported() throws {
        let path = NSTemporaryDirectory() + "sluice-s3-unreachable-\(getpid()).mp4"
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        // A port that was just free: bind to 0, read it, close.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        close(fd)
        var d = S3Destination()
        d.accessKey = "AKID"
        d.secret = "secret"
        d.bucket = "b"
        d.forcePathStyle = true
        d.endpoint = "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))"
        let client = S3Client(settings: .init(maxRetries: 2, retryDelay: 0.05))
        let started = Date()
        #expect {
            _ = try client.upload(path: path, key: "k.mp4", to: d)
        } throws: { error in
            let text = "\(error)"
            return text.contains("PUT \(d.endpoint)/b/k.mp4 failed") && text.hasSuffix("(after 3 attempts)")
        }
        // 0.05 s then 0.1 s of backoff between the three attempts.
        #expect(Date().timeIntervalSince(started) >= 0.15)
        #expect(FileManager.default.fileExists(atPath: path))
    }

    /// EgressInfo (stored, listed, sent in webhooks) carries placeholders, not the request's keys.
    @Test func egressInfoKeepsNoCredentials() {
        let s3 = Livekit_S3Upload.with {
            $0.accessKey = "AKID"
            $0.secret = "very-secret"
            $0.sessionToken = "token"
            $0.bucket = "b"
        }
        let file = Livekit_EncodedFileOutput.with { $0.filepath = "x.mp4"; $0.s3 = s3 }
        let participant = Livekit_ParticipantEgressRequest.with { $0.fileOutputs = [file] }
        let track = Livekit_TrackEgressRequest.with { $0.file = .with { $0.filepath = "t.webm"; $0.s3 = s3 } }
        let composite = Livekit_RoomCompositeEgressRequest.with { $0.file = file; $0.fileOutputs = [file] }
        for request: Livekit_EgressInfo.OneOf_Request in [.participant(participant), .track(track), .roomComposite(composite)] {
            let info = Livekit_EgressInfo.starting(id: "EG_x", roomID: "RM_x", roomName: "r", filename: "/f",
                                                   request: request, at: 1)
            let text = (try? info.jsonString()) ?? ""
            #expect(!text.contains("very-secret") && !text.contains("AKID") && !text.contains("token\""), "\(text)")
            #expect(text.contains("{secret}") && text.contains("{access_key}") && text.contains("\"b\""), "\(text)")
        }
    }
}
