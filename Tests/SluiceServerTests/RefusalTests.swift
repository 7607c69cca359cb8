import MediaPlane
import Synchronization
import NIOWebSocket
import Signal
import Testing
@testable import SluiceServer
import WebRTC

/// What a refused client is told: short enough for a WebSocket close frame, and nothing internal.
@Suite struct RefusalTests {
    @Test func closeReasonsFitAControlFrame() {
        #expect(SignalRefusal.closeReason("room has exceeded its max participants") == "room has exceeded its max participants")
        let long = SignalRefusal.closeReason(String(repeating: "x", count: 500))
        #expect(long.utf8.count <= 123 && long.hasSuffix("..."))
        // Multi-byte characters are never split: the result stays valid UTF-8 and within the limit.
        let wide = SignalRefusal.closeReason(String(repeating: "é€😀", count: 60))
        #expect(wide.utf8.count <= 123)
        #expect(String(decoding: Array(wide.utf8), as: UTF8.self) == wide)
        #expect(SignalRefusal.closeReason(String(repeating: "a", count: 123)).utf8.count == 123)
        #expect(SignalRefusal.closeReason(String(repeating: "a", count: 124)).utf8.count == 123)
    }

    @Test func internalDetailStaysInTheLog() {
        let sql = "SQLite error 19: UNIQUE constraint failed: room.name - while executing `INSERT INTO room (sid, name) VALUES (?, ?)`"
        let errors: [JoinError] = [.storage(sql), .mediaSetup("DTLSError.handshake(SSL_ERROR_SSL)")]
        for error in errors {
            #expect(!error.description.contains("SQLite") && !error.description.contains("DTLS"))
            #expect(error.detail.contains(sql) || error.detail.contains("DTLS"))
            #expect(error.description.utf8.count <= SignalRefusal.maxCloseReasonBytes)
            #expect(error.httpStatus == 500)
        }
        #expect(RoomError.storage(sql).description.contains("SQLite") == false)
        #expect(JoinError.roomFull(String(repeating: "r", count: 256)).description.utf8.count <= 123)
        #expect(JoinError.unavailable("no UDP port free in 50000-60000").httpStatus == 503)
        #expect(SignalRefusal.closeCode(for: .unavailable("x")) == .unknown(1013))
        #expect(SignalRefusal.closeCode(for: .roomFull("r")) == .policyViolation)
    }

    @Test func mediaFailuresAreToldAsCapacityOrInternal() {
        let limits = ResourceLimits(portRange: 50000...50003)
        #expect(limits.mediaRefusal(for: ICEError.gatheringFailed) == .unavailable("no UDP port free in 50000-50003"))
        // As PeerConnection reports it, wrapped by the transport.
        #expect(limits.mediaRefusal(for: PeerTransportError.ice(.gatheringFailed))
                == .unavailable("no UDP port free in 50000-50003"))
        #expect(limits.mediaRefusal(for: MediaSessionError.gatheringTimedOut) == .unavailable("media setup timed out"))
        if case .mediaSetup = limits.mediaRefusal(for: CancellationError()) {} else { Issue.record("expected mediaSetup") }
        #expect(ResourceLimits.participantCapacity(portRange: 50000...50003, addresses: 1) == 2)
        #expect(ResourceLimits.participantCapacity(portRange: nil, addresses: 1) == nil)
    }

    /// A storm's joins read /proc/self/fd once per interval, not once each, and are charged for
    /// what they will open meanwhile.
    @Test func openFileGaugeCountsOncePerIntervalAndChargesJoins() {
        let scans = Mutex(0)
        let clock = Mutex(ContinuousClock.now)
        let gauge = OpenFileGauge(interval: .milliseconds(200), filesPerJoin: 8,
                                  count: { scans.withLock { $0 += 1 }; return 100 },
                                  now: { clock.withLock { $0 } })
        // 100 open + 64 reserved + 8 per join: 4 joins fit under 200, the 5th does not.
        #expect((0..<4).allSatisfy { _ in gauge.admitOne(limit: 200, reserve: 64) })
        #expect(!gauge.admitOne(limit: 200, reserve: 64))
        #expect(scans.withLock { $0 } == 1)
        // After the interval the real count is read again and the charges start over.
        clock.withLock { $0 += .milliseconds(250) }
        #expect(gauge.admitOne(limit: 200, reserve: 64))
        #expect(scans.withLock { $0 } == 2)
    }

    @Test func openFileLimitIsRaisedToTheHardLimit() throws {
        let raised = try #require(ResourceLimits.raiseOpenFileLimit())
        #expect(raised.after == raised.hard)
        #expect(ResourceLimits.openFileLimit()?.soft == raised.hard)
        let open = try #require(ResourceLimits.openFileCount())
        #expect(open >= 3)  // stdin, stdout, stderr at least
    }
}

import NIOCore
import NIOEmbedded

@Suite struct IdleConnectionTests {
    @Test func silentConnectionIsClosedOnReadIdle() throws {
        let channel = EmbeddedChannel(handlers: [IdleConnectionCloser()])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        #expect(channel.isActive)
        // Other events pass through; a write-idle event does not close.
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.write)
        #expect(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(!channel.isActive)
    }
}
