import Auth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
@testable import SluiceServer

/// The demo web app's config keys and routes (`webapp`, `/app/...`), through the responder the
/// server runs. The pages' behaviour in a browser is Interop/test_webapp.py's.
@Suite struct WebAppTests {
    /// A file standing in for livekit-client's bundle.
    static func bundleFile(_ contents: String = "window.LivekitClient = {version: 'test'};") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lk-\(UUID().uuidString).umd.js").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func app(_ configure: (inout ServerConfig) -> Void) throws -> Application<some HTTPResponder<BasicRequestContext>> {
        var config = ServerConfig()
        config.keys = ["devkey": "secret"]
        config.storagePath = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-webapp-\(UUID().uuidString).sqlite").path
        configure(&config)
        return Application(responder: try SluiceApplication(config: config, logger: Logger(label: "test")).makeResponder())
    }

    static func body(_ r: TestResponse) -> String { String(buffer: r.body) }

    // MARK: Config

    @Test func offUnlessEnabledAndDevTurnsItOn() throws {
        let none = try ConfigLoader.parse(yaml: "")
        #expect(!none.webapp.isEnabled && !none.webAppTokensServed)
        #expect(none.webapp.clientSDK == ServerConfig.WebApp.defaultClientSDK && none.webapp.clientSDKIsURL)

        let dev = try ConfigResolver.resolve(file: nil, dev: true, environment: [:])
        #expect(dev.webapp.isEnabled && dev.devMode && dev.webAppTokensServed)

        // An explicit `enabled: false` wins over --dev.
        let off = try ConfigResolver.resolve(file: nil, dev: true, environment: ["LIVEKIT_CONFIG": "webapp:\n  enabled: false\n"])
        #expect(!off.webapp.isEnabled && !off.webAppTokensServed)

        // Enabled without --dev: pages, but tokens only when explicitly allowed.
        let on = try ConfigResolver.resolve(file: nil, dev: false, environment: ["LIVEKIT_CONFIG": "webapp:\n  enabled: true\n"])
        #expect(on.webapp.isEnabled && !on.devMode && !on.webAppTokensServed)
        let allowed = try ConfigLoader.parse(yaml: "webapp:\n  enabled: true\n  allow_dev_tokens: true\n")
        #expect(allowed.webAppTokensServed)
        // Allowing tokens does not enable the app.
        #expect(!(try ConfigLoader.parse(yaml: "webapp:\n  allow_dev_tokens: yes\n")).webAppTokensServed)
    }

    @Test func clientSDKIsAURLOrAnExistingFile() throws {
        let url = try ConfigLoader.parse(yaml: "webapp:\n  client_sdk: https://cdn.example.com/lk/livekit-client.umd.js\n")
        #expect(url.webapp.clientSDK == "https://cdn.example.com/lk/livekit-client.umd.js" && url.webapp.clientSDKIsURL)
        let path = try Self.bundleFile()
        let file = try ConfigLoader.parse(yaml: "webapp:\n  client_sdk: \(path)\n")
        #expect(file.webapp.clientSDK == path && !file.webapp.clientSDKIsURL)
    }

    @Test func badValuesNameKeyAndLine() throws {
        let directory = FileManager.default.temporaryDirectory.path
        let cases: [(String, String, Int, String)] = [
            ("webapp:\n  enabled: true\n  client_sdk: /no/such/livekit-client.umd.js\n", "webapp.client_sdk", 3, "no file at"),
            ("webapp:\n  client_sdk: ftp://cdn.example.com/lk.js\n", "webapp.client_sdk", 2, "only http"),
            ("webapp:\n  client_sdk: //cdn.example.com/lk.js\n", "webapp.client_sdk", 2, "only http"),
            ("webapp:\n  client_sdk: \"https://\"\n", "webapp.client_sdk", 2, "not a valid URL"),
            ("webapp:\n  client_sdk: \(directory)\n", "webapp.client_sdk", 2, "is a directory"),
            ("webapp:\n  client_sdk: \"\"\n", "webapp.client_sdk", 2, "must not be empty"),
            ("webapp:\n  enabled: maybe\n", "webapp.enabled", 2, "true or false"),
            ("webapp:\n  allow_dev_tokens: 1\n", "webapp.allow_dev_tokens", 2, "true or false"),
            ("port: 7880\nwebapp:\n  sdk: x\n", "webapp.sdk", 3, "unknown key"),
            ("webapp: true\n", "webapp", 1, "mapping"),
        ]
        for (yaml, key, line, message) in cases {
            do {
                _ = try ConfigLoader.parse(yaml: yaml)
                Issue.record("expected an error for \(yaml)")
            } catch let error as ConfigError {
                #expect(error.key == key, "\(yaml)")
                #expect(error.line == line, "\(yaml)")
                #expect(error.message.contains(message), "\(yaml): \(error.message)")
            }
        }
    }

    @Test func exampleConfigDocumentsTheBlock() throws {
        // config.example.yaml must stay loadable with the webapp block it documents.
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config.example.yaml").path
        let c = try ConfigLoader.load(file: example)
        #expect(c.webapp.enabled == false && c.webapp.clientSDKIsURL && !c.webapp.allowDevTokens)
    }

    // MARK: Routes

    @Test func disabledServesNothingUnderApp() async throws {
        try await Self.app { $0.devMode = true }.test(.router) { client in
            for path in ["/app", "/app/", "/app/broadcast", "/app/watch", "/app/app.js", "/app/livekit-client.umd.js"] {
                #expect(try await client.execute(uri: path, method: .get).status == .notFound, "\(path)")
            }
            let token = try await client.execute(uri: "/app/api/token", method: .post,
                                                 body: ByteBuffer(string: #"{"room":"r","identity":"i","role":"host"}"#))
            #expect(token.status == .notFound)
        }
    }

    @Test func pagesLoadTheSDKFromTheConfiguredURL() async throws {
        try await Self.app {
            $0.webapp.enabled = true
            $0.webapp.clientSDK = "https://cdn.example.com/lk.js?v=1&x=2"
        }.test(.router) { client in
            for path in ["/app", "/app/", "/app/index.html", "/app/broadcast", "/app/watch"] {
                let r = try await client.execute(uri: path, method: .get)
                #expect(r.status == .ok, "\(path)")
                #expect(r.headers[.contentType] == "text/html; charset=utf-8", "\(path)")
                #expect(!Self.body(r).contains(WebAppRoutes.sdkPlaceholder), "\(path)")
            }
            for page in ["/app/broadcast", "/app/watch"] {
                let html = Self.body(try await client.execute(uri: page, method: .get))
                // The config value lands in an attribute: & escaped.
                #expect(html.contains(#"<script src="https://cdn.example.com/lk.js?v=1&amp;x=2"></script>"#), "\(page)")
                #expect(html.contains(#"<script src="/app/app.js"></script>"#))
            }
            let js = try await client.execute(uri: "/app/app.js", method: .get)
            #expect(js.status == .ok && js.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(Self.body(js).contains("/app/api/token"))
            let css = try await client.execute(uri: "/app/app.css", method: .get)
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8")
            // A URL is the browser's to fetch: no local copy, and no token endpoint without --dev.
            #expect(try await client.execute(uri: "/app/livekit-client.umd.js", method: .get).status == .notFound)
            let token = try await client.execute(uri: "/app/api/token", method: .post,
                                                 body: ByteBuffer(string: #"{"room":"r","identity":"i","role":"host"}"#))
            #expect(token.status == .notFound)
        }
    }

    @Test func aLocalBundleIsServedByTheServer() async throws {
        let contents = "window.LivekitClient = {version: '\(UUID().uuidString)'};"
        let path = try Self.bundleFile(contents)
        try await Self.app {
            $0.webapp.enabled = true
            $0.webapp.clientSDK = path
        }.test(.router) { client in
            let bundle = try await client.execute(uri: "/app/livekit-client.umd.js", method: .get)
            #expect(bundle.status == .ok && Self.body(bundle) == contents)
            #expect(bundle.headers[.contentType] == "text/javascript; charset=utf-8")
            let html = Self.body(try await client.execute(uri: "/app/watch", method: .get))
            #expect(html.contains(#"<script src="/app/livekit-client.umd.js"></script>"#))
        }
    }

    @Test func aBundleGoneBeforeStartStopsTheServerNamingTheKey() throws {
        var config = ServerConfig()
        config.keys = ["devkey": "secret"]
        config.webapp.enabled = true
        config.webapp.clientSDK = "/no/such/bundle.js"
        #expect(throws: ConfigError.self) { _ = try WebAppRoutes(config: config) }
        // Disabled: the value is not even read.
        config.webapp.enabled = false
        config.storagePath = FileManager.default.temporaryDirectory.appendingPathComponent("s-\(UUID().uuidString).sqlite").path
        _ = try SluiceApplication(config: config, logger: Logger(label: "test"))
    }

    @Test func devTokenEndpointMintsPerRole() async throws {
        try await Self.app {
            $0.webapp.enabled = true
            $0.devMode = true
        }.test(.router) { client in
            let verifier = AccessToken(keys: ["devkey": "secret"])
            func ask(_ json: String) async throws -> TestResponse {
                try await client.execute(uri: "/app/api/token", method: .post, headers: [.contentType: "application/json"],
                                         body: ByteBuffer(string: json))
            }
            struct Answer: Decodable { var token: String; var recordToken: String? }

            let host = try await ask(#"{"room":"live","identity":"anna","role":"host"}"#)
            #expect(host.status == .ok && host.headers[.contentType] == "application/json")
            let hostAnswer = try JSONDecoder().decode(Answer.self, from: Data(buffer: host.body))
            let hostClaims = try verifier.verify(hostAnswer.token)
            #expect(hostClaims.identity == "anna")
            #expect(hostClaims.grant.roomJoin == true && hostClaims.grant.room == "live")
            #expect(hostClaims.grant.mayPublish && hostClaims.grant.roomRecord != true)
            let record = try verifier.verify(try #require(hostAnswer.recordToken))
            #expect(record.grant.mayRecord && record.grant.roomJoin != true)

            let viewer = try await ask(#"{"room":"live","identity":"v1","role":"viewer"}"#)
            let viewerAnswer = try JSONDecoder().decode(Answer.self, from: Data(buffer: viewer.body))
            let viewerClaims = try verifier.verify(viewerAnswer.token)
            #expect(viewerClaims.grant.roomJoin == true && viewerClaims.grant.canPublish == false)
            #expect(viewerClaims.grant.canSubscribe == true && !viewerClaims.grant.mayRecord)
            #expect(viewerAnswer.recordToken == nil)

            for bad in [#"{"room":"live","identity":"x","role":"admin"}"#, #"{"room":"","identity":"x","role":"host"}"#,
                        #"{"room":"live","identity":"  ","role":"viewer"}"#, #"{"room":"live"}"#, "not json"] {
                #expect(try await ask(bad).status == .badRequest, "\(bad)")
            }
            // The browser reads it from the page's own origin, but CORS applies as everywhere.
            let cross = try await client.execute(uri: "/app/api/token", method: .post,
                                                 headers: [.origin: "http://127.0.0.1:9"],
                                                 body: ByteBuffer(string: #"{"room":"r","identity":"i","role":"viewer"}"#))
            #expect(cross.status == .ok && cross.headers[.accessControlAllowOrigin] == "http://127.0.0.1:9")
        }
    }

    @Test func allowDevTokensServesTheEndpointOutsideDevMode() async throws {
        try await Self.app {
            $0.webapp.enabled = true
            $0.webapp.allowDevTokens = true
        }.test(.router) { client in
            let r = try await client.execute(uri: "/app/api/token", method: .post,
                                             body: ByteBuffer(string: #"{"room":"r","identity":"i","role":"viewer"}"#))
            #expect(r.status == .ok)
        }
    }

    @Test func attributeEscaping() {
        #expect(WebAppRoutes.escapeAttribute(#"a"b<c>&d"#) == "a&quot;b&lt;c&gt;&amp;d")
    }
}
