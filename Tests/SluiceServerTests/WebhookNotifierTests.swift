import Foundation
import LiveKitProto
import Logging
import Testing
@testable import SluiceServer

/// The notifier's bounds when its receiver is unreachable: a full queue drops its oldest events,
/// and an event is given up once it has been retried for `retryFor`; both are counted.
@Suite struct WebhookNotifierTests {
    /// A loopback port nothing listens on: connections are refused at once.
    private static func deadURL() -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))/hook"
    }

    private static func event(_ name: String) -> Livekit_WebhookEvent {
        var event = Livekit_WebhookEvent()
        event.event = "room_started"
        event.room.name = name
        return event
    }

    @Test func fullQueueDropsTheOldestAndRetriesGiveUpAfterRetryFor() async throws {
        let url = Self.deadURL()
        let notifier = WebhookNotifier(urls: [url], apiKey: "k", apiSecret: "s", logger: Logger(label: "test"),
                                       capacity: 3, retryFor: .milliseconds(600), maxBackoff: .milliseconds(100))
        for i in 0..<10 { await notifier.send(Self.event("room-\(i)")) }
        // The first left the queue for its first attempt (or not yet): 6 or 7 pushed out.
        let early = await notifier.dropped
        #expect(early >= 6 && early <= 7)
        #expect(await notifier.queued(for: url) == 3)
        // Each remaining one is retried for 600 ms, then dropped: all 10 end up counted.
        let deadline = ContinuousClock.now + .seconds(30)
        while await notifier.dropped < 10, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(await notifier.dropped == 10)
        #expect(await notifier.delivered == 0)
        #expect(await notifier.failedAttempts >= 4)
    }
}
