import Auth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
@testable import SluiceServer

/// CORS and prefixed signalling paths, driven through the responder the server runs
/// (`makeResponder()`), i.e. what a browser page on another origin gets back.
/// The browser's own verdict is Interop/test_browser_sdk.py's.
@Suite struct CORSTests {
    static let page = "http://127.0.0.1:8123"

    static func app(origins: [String]? = nil, singlePeerConnection: Bool = true) throws
        -> Application<some HTTPResponder<BasicRequestContext>> {
        var config = ServerConfig()
        config.rtc.singlePeerConnection = singlePeerConnection
        config.keys = ["devkey": "secret"]
        config.storagePath = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-cors-\(UUID().uuidString).sqlite").path
        if let origins { config.cors.allowedOrigins = origins }
        return Application(responder: try SluiceApplication(config: config, logger: Logger(label: "test")).makeResponder())
    }

    static func joinToken(room: String = "r") throws -> String {
        try WHIPRoutesTests.token(VideoGrant(roomJoin: true, room: room), identity: "page")
    }

    @Test func preflightIsAnsweredWithWhatWasAskedForAndNeverRouted() async throws {
        try await Self.app().test(.router) { client in
            let r = try await client.execute(
                uri: "/twirp/livekit.RoomService/ListRooms", method: .options,
                headers: [.origin: Self.page, .accessControlRequestMethod: "POST",
                          .accessControlRequestHeaders: "authorization, content-type, twirp-version, x-livekit-sdk"])
            #expect(r.status == .noContent)
            #expect(r.headers[.accessControlAllowOrigin] == Self.page)
            #expect(r.headers[.accessControlAllowMethods] == "POST")
            #expect(r.headers[.accessControlAllowHeaders] == "authorization, content-type, twirp-version, x-livekit-sdk")
            #expect(r.headers[.accessControlMaxAge] == "86400")
            #expect(r.body.readableBytes == 0)
            // Paths no route serves get the same preflight answer: the real request's 404 must be readable.
            let missing = try await client.execute(uri: "/some/prefix/rtc/v1/validate?x=1", method: .options,
                                                   headers: [.origin: Self.page, .accessControlRequestMethod: "GET"])
            #expect(missing.status == .noContent)
            #expect(missing.headers[.accessControlAllowOrigin] == Self.page)
        }
    }

    @Test func preflightForAMethodLiveKitDoesNotAllowGrantsNothing() async throws {
        try await Self.app().test(.router) { client in
            let r = try await client.execute(uri: "/whip/r", method: .options,
                                             headers: [.origin: Self.page, .accessControlRequestMethod: "PUT"])
            #expect(r.status == .noContent)
            #expect(r.headers[.accessControlAllowOrigin] == nil)
            #expect(r.headers[.accessControlAllowMethods] == nil)
            let patch = try await client.execute(uri: "/whip/r/WHIP_x", method: .options,
                                                 headers: [.origin: Self.page, .accessControlRequestMethod: "PATCH"])
            #expect(patch.headers[.accessControlAllowMethods] == "PATCH")
        }
    }

    @Test func everyAnswerCarriesTheGrantErrorsAndNotFoundIncluded() async throws {
        try await Self.app().test(.router) { client in
            let origin: HTTPFields = [.origin: Self.page]
            // A refused /rtc/validate: the page must be able to read why.
            let bad = try await client.execute(uri: "/rtc/validate?access_token=not.a.jwt&protocol=16", method: .get, headers: origin)
            #expect(bad.status == .unauthorized)
            #expect(String(buffer: bad.body).hasPrefix("invalid token"))
            #expect(bad.headers[.accessControlAllowOrigin] == Self.page)
            #expect(bad.headers[values: .vary].contains("Origin"))
            // A path nothing serves (the router's own 404).
            let missing = try await client.execute(uri: "/nothing/here", method: .get, headers: origin)
            #expect(missing.status == .notFound)
            #expect(missing.headers[.accessControlAllowOrigin] == Self.page)
            // Twirp's error and the health check.
            let twirp = try await client.execute(uri: "/twirp/livekit.RoomService/ListRooms", method: .post,
                                                 headers: [.origin: Self.page, .contentType: "application/json"],
                                                 body: ByteBuffer(string: "{}"))
            #expect(twirp.status == .unauthorized)
            #expect(twirp.headers[.accessControlAllowOrigin] == Self.page)
            let health = try await client.execute(uri: "/", method: .get, headers: origin)
            #expect(health.status == .ok && health.headers[.accessControlAllowOrigin] == Self.page)
            // WHIP: a page reads Location/ETag/Link only when they are exposed.
            let whip = try await client.execute(uri: "/whip/r", method: .post,
                                                headers: [.origin: Self.page, .contentType: "application/sdp"],
                                                body: ByteBuffer(string: "v=0"))
            #expect(whip.status == .unauthorized)
            #expect(whip.headers[.accessControlAllowOrigin] == Self.page)
            let exposed = Set((whip.headers[.accessControlExposeHeaders] ?? "").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
            #expect(exposed.isSuperset(of: ["location", "etag", "link"]))
        }
    }

    @Test func anyOriginIncludesPagesOpenedFromFiles() async throws {
        try await Self.app().test(.router) { client in
            let r = try await client.execute(uri: "/rtc/v1/validate", method: .get, headers: [.origin: "null"])
            #expect(r.status == .unauthorized && r.headers[.accessControlAllowOrigin] == "null")
        }
    }

    @Test func requestsWithoutOriginGetNoGrant() async throws {
        try await Self.app().test(.router) { client in
            let r = try await client.execute(uri: "/rtc/validate", method: .get)
            #expect(r.status == .unauthorized)
            #expect(r.headers[.accessControlAllowOrigin] == nil)
            #expect(r.headers[values: .vary].contains("Origin"))
        }
    }

    @Test func configuredOriginsAreTheOnlyOnesGranted() async throws {
        try await Self.app(origins: ["https://app.example.com", "http://*.lan.test:8080"]).test(.router) { client in
            func grant(_ origin: String) async throws -> String? {
                try await client.execute(uri: "/rtc/validate", method: .get, headers: [.origin: origin])
                    .headers[.accessControlAllowOrigin]
            }
            #expect(try await grant("https://app.example.com") == "https://app.example.com")
            #expect(try await grant("HTTPS://APP.EXAMPLE.COM") == "HTTPS://APP.EXAMPLE.COM")
            #expect(try await grant("http://cam.lan.test:8080") == "http://cam.lan.test:8080")
            #expect(try await grant("https://evil.example.com") == nil)
            #expect(try await grant("http://lan.test:8080") == nil)  // the wildcard needs a subdomain
            #expect(try await grant("http://cam.lan.test:9090") == nil)
            #expect(try await grant("null") == nil)  // only "*" lets file:// pages in
            let preflight = try await client.execute(uri: "/rtc/validate", method: .options,
                                                     headers: [.origin: "https://evil.example.com", .accessControlRequestMethod: "GET"])
            #expect(preflight.status == .noContent && preflight.headers[.accessControlAllowOrigin] == nil)
        }
        try await Self.app(origins: []).test(.router) { client in
            let r = try await client.execute(uri: "/rtc/validate", method: .get, headers: [.origin: Self.page])
            #expect(r.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test func v1ValidateAnswersTheFallback404WhenSwitchedOff() async throws {
        try await Self.app(singlePeerConnection: false).test(.router) { client in
            let token = try Self.joinToken()
            for path in ["/rtc/v1/validate", "/rtc/v1", "/base/rtc/v1/validate", "//rtc/v1/validate"] {
                let r = try await client.execute(uri: "\(path)?access_token=\(token)&join_request=AAAA", method: .get,
                                                 headers: [.origin: Self.page])
                #expect(r.status == .notFound, "\(path)")
                // livekit-client 2.17+ falls back to /rtc on a 404 unless the body says this.
                #expect(!String(buffer: r.body).contains("requested room does not exist"))
                #expect(!String(buffer: r.body).isEmpty)
                #expect(r.headers[.accessControlAllowOrigin] == Self.page)
            }
        }
    }

    @Test func signallingIsFoundUnderAPathPrefix() async throws {
        try await Self.app().test(.router) { client in
            let token = try Self.joinToken()
            for path in ["/rtc/validate", "/some/prefix/rtc/validate", "/prefix/rtc/validate", "//rtc/validate"] {
                let r = try await client.execute(uri: "\(path)?access_token=\(token)&protocol=16", method: .get)
                #expect(r.status == .ok, "\(path)")
                #expect(String(buffer: r.body) == "success", "\(path)")
            }
            // A non-upgraded GET of the socket path under a prefix reaches /rtc (and says why it failed).
            let plain = try await client.execute(uri: "/p/rtc?access_token=\(token)", method: .get)
            #expect(plain.status == .badRequest)
            #expect(String(buffer: plain.body).contains("WebSocket"))
            // Only GETs are mapped: a WHIP publish into a room called "rtc" stays WHIP (401 for no token).
            let whip = try await client.execute(uri: "/whip/rtc", method: .post, headers: [.contentType: "application/sdp"],
                                                body: ByteBuffer(string: "v=0"))
            #expect(whip.status == .unauthorized)
            // Something that merely ends in a similar word is not signalling.
            let other = try await client.execute(uri: "/prefix/xrtc/validate?access_token=\(token)", method: .get)
            #expect(other.status == .notFound)
        }
    }

    @Test func signalPaths() {
        #expect(SignalPath(path: "/rtc") == .rtc)
        #expect(SignalPath(path: "/a/b/rtc") == .rtc)
        #expect(SignalPath(path: "/rtc/validate") == .rtcValidate)
        #expect(SignalPath(path: "/a/rtc/v1") == .v1)
        #expect(SignalPath(path: "/a/rtc/v1/validate") == .v1Validate)
        #expect(SignalPath(path: "/validate") == nil)
        #expect(SignalPath(path: "/rtc/v2") == nil)
        #expect(SignalPath(path: "/") == nil)
        #expect(SignalPath.canonicalTarget("/rtc?x=1") == nil)
        #expect(SignalPath.canonicalTarget("/p/q/rtc?x=1&y=/rtc") == "/rtc?x=1&y=/rtc")
        #expect(SignalPath.canonicalTarget("/p/rtc/v1/validate") == "/rtc/v1/validate")
    }

    @Test func originEntriesAreValidated() {
        #expect(CORSPolicy.problem(with: "*") == nil)
        #expect(CORSPolicy.problem(with: "https://app.example.com") == nil)
        #expect(CORSPolicy.problem(with: "http://127.0.0.1:3000") == nil)
        #expect(CORSPolicy.problem(with: "https://*.example.com") == nil)
        #expect(CORSPolicy.problem(with: "https://app.example.com/") != nil)
        #expect(CORSPolicy.problem(with: "app.example.com") != nil)
        #expect(CORSPolicy.problem(with: "https://") != nil)
        #expect(CORSPolicy.problem(with: "https://*.*.example.com") != nil)
    }
}
