import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Signal
import Synchronization

/// Whether the server is draining: set once, on the first SIGTERM, and read by admission
/// (`/rtc`, Twirp CreateRoom, WHIP/WHEP) to refuse what would start something new.
final class DrainState: Sendable {
    private let flag = Atomic<Bool>(false)
    var isDraining: Bool { flag.load(ordering: .relaxed) }
    func start() { flag.store(true, ordering: .relaxed) }

    /// What a refused client is told (HTTP 503 with this text, or a Twirp `unavailable`).
    static let reason = "server is draining: not accepting new rooms or participants"
}

/// Graceful drain, when `shutdown.drain_timeout` is set: the first SIGTERM stops admissions and
/// waits for the rooms to empty (participants leave on their own, recordings end with their
/// rooms), at most the drain timeout; then whoever is left is told the server is shutting down
/// (LiveKit's leave with SERVER_SHUTDOWN) and the service returns, which shuts the group down
/// gracefully (recordings closed by `EgressShutdown`). A second SIGTERM, or a SIGINT (which the
/// group handles itself), ends the wait at once.
struct DrainOnSIGTERM: Service {
    let drain: DrainState
    let rooms: RoomManager
    let timeout: Duration
    let logger: Logger
    var poll: Duration = .milliseconds(100)

    func run() async throws {
        // SIGTERM is not in the group's graceful-shutdown signals when draining is configured:
        // it is ours. A dispatch source counts deliveries; the default action is ignored.
        let received = SignalCounter()
        signal(SIGTERM, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        source.setEventHandler { received.increment() }
        source.resume()
        defer { source.cancel() }

        while received.count == 0 {
            if Task.isShuttingDownGracefully { return }
            try? await Task.sleep(for: poll)
        }
        drain.start()
        let started = ContinuousClock.now
        let present = await rooms.census().participants
        logger.notice("SIGTERM: draining", metadata: [
            "drain_timeout_s": "\(timeout.components.seconds)", "participants": "\(present)"])
        while true {
            if Task.isShuttingDownGracefully { break }  // SIGINT: the group is already stopping
            if received.count > 1 {
                logger.notice("second SIGTERM: stopping now")
                break
            }
            let census = await rooms.census()
            if census.participants == 0 {
                logger.notice("drained: no participants left", metadata: [
                    "after_s": "\(ContinuousClock.now - started)"])
                break
            }
            if ContinuousClock.now - started >= timeout {
                logger.notice("drain timeout: closing the remaining rooms", metadata: [
                    "rooms": "\(census.rooms)", "participants": "\(census.participants)"])
                break
            }
            try? await Task.sleep(for: poll)
        }
        // Whoever is still connected is told, so clients and their WebSockets end now.
        await rooms.closeAll(reason: .serverShutdown)
    }
}

/// Counts signals from a dispatch handler; read from the async service.
final class SignalCounter: Sendable {
    private let value = Atomic<Int>(0)
    var count: Int { value.load(ordering: .relaxed) }
    func increment() { value.add(1, ordering: .relaxed) }
}
