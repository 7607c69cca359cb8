import Auth
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LiveKitProto
import Logging
import SFU
import SwiftProtobuf

/// Sends LiveKit webhooks: a protojson `WebhookEvent` POSTed to every configured URL with
/// `Content-Type: application/webhook+json` and `Authorization: <jwt>` (no "Bearer"), the JWT
/// carrying the body's SHA-256 so receivers (`livekit-api`'s WebhookReceiver) can verify it.
///
/// Events go through a bounded queue drained by one task per URL, with retries and backoff, so a
/// slow or dead endpoint never delays a room; when the queue is full the oldest event is dropped.
public actor WebhookNotifier {
    private let urls: [URL]
    private let apiKey: String
    private let apiSecret: String
    private let logger: Logger
    private let session: URLSession
    private let capacity: Int
    private let maxAttempts: Int
    private var queues: [URL: [(body: [UInt8], event: String)]] = [:]
    private var draining: Set<URL> = []
    private(set) var dropped = 0
    /// Events delivered (a 2xx answer), and attempts that failed (refused or unreachable), for metrics.
    private(set) var delivered = 0
    private(set) var failedAttempts = 0

    public init(urls: [String], apiKey: String, apiSecret: String, logger: Logger, capacity: Int = 1000,
                maxAttempts: Int = 5) {
        self.urls = urls.compactMap(URL.init(string:))
        self.apiKey = apiKey
        self.apiSecret = apiSecret
        self.logger = logger
        self.capacity = capacity
        self.maxAttempts = maxAttempts
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        self.session = URLSession(configuration: configuration)
    }

    public var isEnabled: Bool { !urls.isEmpty }

    /// Queues `event` for delivery; returns at once.
    public func send(_ event: Livekit_WebhookEvent) {
        guard !urls.isEmpty else { return }
        var event = event
        if event.id.isEmpty { event.id = SessionID.make(prefix: "EV_") }
        if event.createdAt == 0 { event.createdAt = Int64(Date().timeIntervalSince1970) }
        let body: [UInt8]
        do {
            body = try event.jsonUTF8Bytes()
        } catch {
            logger.error("webhook encoding failed", metadata: ["event": "\(event.event)", "error": "\(error)"])
            return
        }
        for url in urls {
            var queue = queues[url, default: []]
            if queue.count >= capacity {
                queue.removeFirst()
                dropped += 1
            }
            queue.append((body, event.event))
            queues[url] = queue
            if !draining.contains(url) {
                draining.insert(url)
                Task { await self.drain(url) }
            }
        }
    }

    private func drain(_ url: URL) async {
        while let next = queues[url]?.first {
            queues[url]?.removeFirst()
            await deliver(next.body, event: next.event, to: url)
        }
        draining.remove(url)
    }

    private func deliver(_ body: [UInt8], event: String, to url: URL) async {
        var delay: UInt64 = 250_000_000
        for attempt in 1...maxAttempts {
            do {
                var request = URLRequest(url: url)
                request.httpMethod = "POST"
                request.setValue("application/webhook+json", forHTTPHeaderField: "Content-Type")
                request.setValue(try authorization(for: body), forHTTPHeaderField: "Authorization")
                request.httpBody = Data(body)
                let (_, response) = try await session.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if (200..<300).contains(status) { delivered += 1; return }
                failedAttempts += 1
                logger.warning("webhook rejected", metadata: ["url": "\(url)", "event": "\(event)", "status": "\(status)",
                                                              "attempt": "\(attempt)"])
            } catch {
                failedAttempts += 1
                logger.warning("webhook failed", metadata: ["url": "\(url)", "event": "\(event)", "error": "\(error)",
                                                            "attempt": "\(attempt)"])
            }
            if attempt < maxAttempts {
                try? await Task.sleep(nanoseconds: delay)
                delay = min(delay * 2, 5_000_000_000)
            }
        }
        dropped += 1
    }

    private func authorization(for body: [UInt8]) throws -> String {
        let digest = Data(SHA256.hash(data: body)).base64EncodedString()
        let now = Date().timeIntervalSince1970.rounded(.down)
        let claims = AccessTokenClaims(apiKey: apiKey, notBefore: now, expires: now + 300, sha256: digest)
        return try AccessToken.sign(claims, secret: apiSecret)
    }
}

