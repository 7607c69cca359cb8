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
/// Events go through a bounded queue drained by one task per URL, so a slow or dead endpoint
/// never delays a room. A failed delivery is retried with exponential backoff (250 ms doubling
/// up to `maxBackoff`) for as long as the event is younger than `retryFor`, the events behind it
/// waiting in order: a receiver that is down for a minute (a deploy, a restart) gets everything
/// once it is back. LiveKit's notifier gives up after a few attempts; a self-hosted receiver is
/// more often briefly away than gone. When the queue is full the oldest event is dropped, and an
/// event that outlives `retryFor` is dropped too: both counted (`dropped`, the
/// `sluice_webhook_dropped_total` metric) and logged, at most one line per URL every 10 s so a
/// dead endpoint under a busy server does not flood the log.
public actor WebhookNotifier {
    private struct Pending {
        let body: [UInt8]
        let event: String
        let queuedAt: ContinuousClock.Instant
    }

    private let urls: [URL]
    private let apiKey: String
    private let apiSecret: String
    private let logger: Logger
    private let session: URLSession
    private let capacity: Int
    private let retryFor: Duration
    private let maxBackoff: Duration
    private var queues: [URL: [Pending]] = [:]
    private var draining: Set<URL> = []
    /// Events given up: pushed out of a full queue, or still undelivered after `retryFor`.
    private(set) var dropped = 0
    /// Events delivered (a 2xx answer), and attempts that failed (refused or unreachable), for metrics.
    private(set) var delivered = 0
    private(set) var failedAttempts = 0
    /// Drops not yet logged, per URL, and when each URL's last drop line was written.
    private var unloggedDrops: [URL: Int] = [:]
    private var lastDropLog: [URL: ContinuousClock.Instant] = [:]

    public init(urls: [String], apiKey: String, apiSecret: String, logger: Logger, capacity: Int = 1000,
                retryFor: Duration = .seconds(300), maxBackoff: Duration = .seconds(5)) {
        self.urls = urls.compactMap(URL.init(string:))
        self.apiKey = apiKey
        self.apiSecret = apiSecret
        self.logger = logger
        self.capacity = max(1, capacity)
        self.retryFor = retryFor
        self.maxBackoff = maxBackoff
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        self.session = URLSession(configuration: configuration)
    }

    public var isEnabled: Bool { !urls.isEmpty }

    /// Events waiting for `url` (the one being retried not included); for tests.
    func queued(for url: String) -> Int {
        URL(string: url).map { queues[$0]?.count ?? 0 } ?? 0
    }

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
        let now = ContinuousClock.now
        for url in urls {
            var queue = queues[url, default: []]
            if queue.count >= capacity {
                let oldest = queue.removeFirst()
                noteDrop(url, event: oldest.event, why: "webhook queue full, dropped the oldest event")
            }
            queue.append(Pending(body: body, event: event.event, queuedAt: now))
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
            await deliver(next, to: url)
        }
        draining.remove(url)
        flushDropLog(url)
    }

    private func deliver(_ pending: Pending, to url: URL) async {
        var delay = Duration.milliseconds(250)
        var attempt = 0
        while true {
            attempt += 1
            do {
                var request = URLRequest(url: url)
                request.httpMethod = "POST"
                request.setValue("application/webhook+json", forHTTPHeaderField: "Content-Type")
                request.setValue(try authorization(for: pending.body), forHTTPHeaderField: "Authorization")
                request.httpBody = Data(pending.body)
                let (_, response) = try await session.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if (200..<300).contains(status) {
                    delivered += 1
                    if attempt > 1 {
                        logger.info("webhook delivered after retries", metadata: [
                            "url": "\(url)", "event": "\(pending.event)", "attempts": "\(attempt)",
                            "waitedMs": "\((ContinuousClock.now - pending.queuedAt).milliseconds)"])
                    }
                    return
                }
                failedAttempts += 1
                logger.warning("webhook rejected", metadata: ["url": "\(url)", "event": "\(pending.event)", "status": "\(status)",
                                                              "attempt": "\(attempt)"])
            } catch {
                failedAttempts += 1
                logger.warning("webhook failed", metadata: ["url": "\(url)", "event": "\(pending.event)", "error": "\(error)",
                                                            "attempt": "\(attempt)"])
            }
            // Give up once the next attempt would come after the event's time is up.
            if ContinuousClock.now + delay - pending.queuedAt > retryFor {
                noteDrop(url, event: pending.event, why: "webhook undelivered after retrying, dropped")
                return
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, maxBackoff)
        }
    }

    /// Counts a dropped event and logs it, at most one line per URL every 10 s (the line says
    /// how many were dropped since the last one).
    private func noteDrop(_ url: URL, event: String, why: String) {
        dropped += 1
        unloggedDrops[url, default: 0] += 1
        let now = ContinuousClock.now
        if let last = lastDropLog[url], now - last < .seconds(10) { return }
        lastDropLog[url] = now
        let count = unloggedDrops.removeValue(forKey: url) ?? 0
        logger.warning("\(why)", metadata: ["url": "\(url)", "event": "\(event)", "droppedSinceLastLine": "\(count)",
                                             "droppedTotal": "\(dropped)", "queueSize": "\(capacity)"])
    }

    /// Logs drops a rate-limited line held back, once the queue is empty again.
    private func flushDropLog(_ url: URL) {
        guard let count = unloggedDrops.removeValue(forKey: url), count > 0 else { return }
        lastDropLog[url] = ContinuousClock.now
        logger.warning("webhook events were dropped", metadata: ["url": "\(url)", "droppedSinceLastLine": "\(count)",
                                                                 "droppedTotal": "\(dropped)"])
    }

    private func authorization(for body: [UInt8]) throws -> String {
        let digest = Data(SHA256.hash(data: body)).base64EncodedString()
        let now = Date().timeIntervalSince1970.rounded(.down)
        let claims = AccessTokenClaims(apiKey: apiKey, notBefore: now, expires: now + 300, sha256: digest)
        return try AccessToken.sign(claims, secret: apiSecret)
    }
}


private extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
