import Auth
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The demo web app: a broadcaster and a player page, so a person can try Sluice in a browser
/// with nothing else (`sluice serve --dev`, then open http://127.0.0.1:7880/app/).
///
///     GET  /app/                     index: links to both pages
///     GET  /app/broadcast            camera/mic/screen share, recording, viewers, outgoing stats
///     GET  /app/watch                quality, volume, fullscreen, connection state, viewers
///     GET  /app/app.css, /app/app.js what the pages share
///     GET  /app/livekit-client.umd.js  `webapp.client_sdk` when it is a local file
///     POST /app/api/token            {room, identity, role: host|viewer} -> {token, recordToken?}
///                                    only in --dev or with `webapp.allow_dev_tokens`
///
/// The pages are plain livekit-client apps: they join through `/rtc` like any other and record
/// through the Egress Twirp API with a `roomRecord` token. Nothing here is registered unless the
/// app is enabled. The files are compiled into the binary (SwiftPM `embedInCode`), so a copied
/// `sluice` binary still serves them.
struct WebAppRoutes: Sendable {
    let settings: ServerConfig.WebApp
    let tokensServed: Bool
    /// API key and secret the token endpoint signs with.
    let signingKey: (key: String, secret: String)?
    /// The bundle's bytes when `client_sdk` is a local file, read once at start.
    let localSDK: ByteBuffer?

    /// Where the pages load livekit-client from.
    var sdkSource: String { localSDK == nil ? settings.clientSDK : "/app/livekit-client.umd.js" }

    /// Placeholder in the pages' HTML for the SDK's URL.
    static let sdkPlaceholder = "__LIVEKIT_CLIENT_URL__"

    init(config: ServerConfig) throws {
        settings = config.webapp
        tokensServed = config.webAppTokensServed
        signingKey = config.keys.keys.sorted().first.map { ($0, config.keys[$0]!) }
        if config.webapp.clientSDKIsURL {
            localSDK = nil
        } else {
            // Read at start: a bundle that vanished since the config was checked stops the server
            // with the key's name rather than breaking every page later.
            guard let data = FileManager.default.contents(atPath: config.webapp.clientSDK) else {
                throw ConfigError(key: "webapp.client_sdk", line: nil, "cannot read '\(config.webapp.clientSDK)'")
            }
            localSDK = ByteBuffer(bytes: data)
        }
    }

    func register(on router: Router<BasicRequestContext>) {
        let index = page(PackageResources.index_html)
        let broadcast = page(PackageResources.broadcast_html)
        let watch = page(PackageResources.watch_html)
        let css = ByteBuffer(bytes: PackageResources.app_css)
        let js = ByteBuffer(bytes: PackageResources.app_js)
        router.get("/app") { _, _ in Self.asset(index, type: "text/html; charset=utf-8") }
        router.get("/app/index.html") { _, _ in Self.asset(index, type: "text/html; charset=utf-8") }
        router.get("/app/broadcast") { _, _ in Self.asset(broadcast, type: "text/html; charset=utf-8") }
        router.get("/app/watch") { _, _ in Self.asset(watch, type: "text/html; charset=utf-8") }
        router.get("/app/app.css") { _, _ in Self.asset(css, type: "text/css; charset=utf-8") }
        router.get("/app/app.js") { _, _ in Self.asset(js, type: "text/javascript; charset=utf-8") }
        if let localSDK {
            router.get("/app/livekit-client.umd.js") { _, _ in Self.asset(localSDK, type: "text/javascript; charset=utf-8") }
        }
        if tokensServed, let signingKey {
            router.post("/app/api/token") { request, _ in
                await Self.mintTokens(request, key: signingKey.key, secret: signingKey.secret)
            }
        }
    }

    /// A page's HTML with the SDK's location filled in (attribute-escaped: it is a config value).
    private func page(_ bytes: [UInt8]) -> ByteBuffer {
        let html = String(decoding: bytes, as: UTF8.self)
            .replacingOccurrences(of: Self.sdkPlaceholder, with: Self.escapeAttribute(sdkSource))
        return ByteBuffer(string: html)
    }

    static func escapeAttribute(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    private static func asset(_ body: ByteBuffer, type: String) -> Response {
        // no-cache: a rebuilt server's pages are seen on the next load (they are small).
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"],
                 body: .init(byteBuffer: body))
    }

    // MARK: Token endpoint

    struct TokenRequest: Decodable {
        var room: String
        var identity: String
        var role: String
    }

    struct TokenResponse: Encodable {
        var token: String
        /// roomRecord, for the broadcaster's start/stop recording buttons (Egress Twirp API).
        var recordToken: String?
    }

    /// Hours the minted tokens are valid: a demo session, not a day.
    static let validity: Double = 6 * 3600

    static func mintTokens(_ request: Request, key: String, secret: String) async -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: 16 * 1024)
        } catch {
            return plain(.contentTooLarge, "request body too large")
        }
        let asked: TokenRequest
        do {
            asked = try JSONDecoder().decode(TokenRequest.self, from: Data(buffer: body))
        } catch {
            return plain(.badRequest, "expected JSON {room, identity, role: host|viewer}")
        }
        do {
            let answer = try tokens(for: asked, key: key, secret: secret, now: Date().timeIntervalSince1970)
            let json = try JSONEncoder().encode(answer)
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: json)))
        } catch let error as TokenRequestError {
            return plain(.badRequest, error.message)
        } catch {
            return plain(.internalServerError, "cannot sign: \(error)")
        }
    }

    struct TokenRequestError: Error { var message: String }

    /// The grants per role: the host publishes (camera, microphone, screen share) and gets a
    /// recording token; a viewer only subscribes, which is also what the pages count as a viewer.
    static func tokens(for asked: TokenRequest, key: String, secret: String, now: Double) throws -> TokenResponse {
        let room = asked.room.trimmingCharacters(in: .whitespaces)
        let identity = asked.identity.trimmingCharacters(in: .whitespaces)
        guard !room.isEmpty, room.count <= 128 else { throw TokenRequestError(message: "room: 1-128 characters") }
        guard !identity.isEmpty, identity.count <= 128 else { throw TokenRequestError(message: "identity: 1-128 characters") }
        let now = now.rounded(.down)
        func sign(_ grant: VideoGrant, identity: String?) throws -> String {
            try AccessToken.sign(AccessTokenClaims(apiKey: key, identity: identity, notBefore: now, expires: now + validity,
                                                   name: identity, video: grant), secret: secret)
        }
        switch asked.role {
        case "host":
            let join = VideoGrant(roomJoin: true, room: room, canPublish: true, canSubscribe: true, canPublishData: true)
            return TokenResponse(token: try sign(join, identity: identity),
                                 recordToken: try sign(VideoGrant(roomRecord: true, room: room), identity: nil))
        case "viewer":
            let join = VideoGrant(roomJoin: true, room: room, canPublish: false, canSubscribe: true, canPublishData: true)
            return TokenResponse(token: try sign(join, identity: identity), recordToken: nil)
        default:
            throw TokenRequestError(message: "role: host or viewer, not '\(asked.role)'")
        }
    }

    private static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }
}
