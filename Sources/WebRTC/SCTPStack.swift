import CShims
import CUsrsctp
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The process-wide usrsctp instance.
///
/// Threading: usrsctp is one global stack with one timer wheel, so timers cannot live on each
/// media worker. We start it with `usrsctp_init_nothreads` (no usrsctp threads at all, and no raw
/// sockets) and drive `usrsctp_handle_timers` from one small clock thread ("sluice-sctp", a
/// `MediaWorker`) every `tickMilliseconds`. Everything else (conninput, send, reset, close) runs on
/// the worker that owns the association, and the Swift state of an association is confined to it.
/// usrsctp's callbacks normally arrive on that worker, inside our own usrsctp call; those that the
/// clock thread triggers (retransmissions, delayed SACKs, heartbeats, timeouts, and deliveries
/// usrsctp makes from there) are hopped to the owning worker with `MediaWorker.execute`: outgoing
/// packets are copied, received messages and notifications go through one per-association queue
/// (a mutex) so they are handled in callback order whichever thread made them. Callbacks find their association
/// through an id registry (the AF_CONN address is the id, never a pointer), so a late callback
/// after `close()` finds nothing instead of a freed object.
public final class SCTPStack: @unchecked Sendable {
    static let shared = SCTPStack()
    static let tickMilliseconds = 10

    private struct Registry {
        var nextID: UInt = 1
        var ports: [UInt: SCTPPort] = [:]
    }

    private let registry = Mutex(Registry())
    private let clock: MediaWorker

    /// Starts the stack (usrsctp and its clock thread) now instead of with the first data
    /// channel. A server calls this at start: the thread and its wake-up descriptor then belong
    /// to the idle process's footprint, and the first participant does not wait for them.
    public static func start() { _ = shared }

    private init() {
        var callbacks = SluiceSCTPCallbacks(
            output: { addr, bytes, length in
                guard let bytes else { return }
                SCTPStack.shared.output(id: UInt(bitPattern: addr), UnsafeRawBufferPointer(start: bytes, count: length))
            },
            receive: { ulp, data, length, streamID, ppid, isNotification, isEndOfRecord in
                let event = SCTPInboundEvent(data: data, length: length, streamID: streamID, ppid: ppid,
                                             isNotification: isNotification != 0, isEndOfRecord: isEndOfRecord != 0)
                SCTPStack.shared.receive(id: UInt(bitPattern: ulp), event)
            },
            writable: { ulp in
                SCTPStack.shared.writable(id: UInt(bitPattern: ulp))
            })
        sluice_sctp_init(&callbacks)
        let clock = MediaWorker(name: "sluice-sctp")
        self.clock = clock
        clock.execute { SCTPClock.start(on: clock) }
    }

    func register(_ port: SCTPPort) -> UInt {
        registry.withLock { r in
            let id = r.nextID
            r.nextID += 1
            r.ports[id] = port
            return id
        }
    }

    func unregister(_ id: UInt) {
        _ = registry.withLock { $0.ports.removeValue(forKey: id) }
    }

    private func port(_ id: UInt) -> SCTPPort? {
        registry.withLock { $0.ports[id] }
    }

    private func output(id: UInt, _ packet: UnsafeRawBufferPointer) {
        guard let port = port(id) else { return }
        if port.worker.isCurrent {
            port.association?.emit(packet)
        } else {
            let copy = Array(packet)
            port.worker.execute {
                copy.withUnsafeBytes { port.association?.emit($0) }
            }
        }
    }

    private func receive(id: UInt, _ event: SCTPInboundEvent) {
        guard let port = port(id) else { event.release(); return }
        // One queue per association, in callback order whatever the thread: a message that the
        // clock thread hands over must not be overtaken by the next one delivered on the worker.
        port.inbound.withLock { $0.append(event) }
        if port.worker.isCurrent {
            port.association?.inboundArrived()
        } else {
            port.worker.execute { port.association?.processPending() }
        }
    }

    private func writable(id: UInt) {
        guard let port = port(id) else { return }
        if port.worker.isCurrent {
            port.association?.markWritable()
        } else {
            port.worker.execute {
                port.association?.markWritable()
                port.association?.processPending()
            }
        }
    }
}

/// The registry entry of one association: which worker owns it, and a weak link to it that is only
/// read or written on that worker.
final class SCTPPort: @unchecked Sendable {
    let worker: MediaWorker
    weak var association: SCTPAssociation?
    /// Receive callbacks not yet handled, in the order usrsctp made them (from any thread).
    let inbound = Mutex<[SCTPInboundEvent]>([])

    init(worker: MediaWorker) { self.worker = worker }

    deinit {
        inbound.withLock { events in for event in events { event.release() } }
    }

    /// Takes the queued events (the caller releases them).
    func takeInbound(into batch: inout [SCTPInboundEvent]) {
        inbound.withLock { swap(&$0, &batch) }
    }
}

/// One usrsctp receive callback: data (owned, malloc'ed by usrsctp) or a notification.
struct SCTPInboundEvent: @unchecked Sendable {
    var data: UnsafeMutableRawPointer?
    var length: Int
    var streamID: UInt16
    var ppid: UInt32
    var isNotification: Bool
    var isEndOfRecord: Bool

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : length) }

    func release() { free(data) }
}

/// Calls `usrsctp_handle_timers` with the real elapsed time, on the clock thread, forever.
private final class SCTPClock {
    private var timer: LoopTimer?
    private var last = ContinuousClock.now
    private var carryNanoseconds: Int64 = 0

    static func start(on worker: MediaWorker) {
        let clock = SCTPClock()
        // The timer handler holds the clock and the clock holds the timer: it lives as long as
        // the process (and the worker), which is what we want.
        let timer = LoopTimer(worker: worker) { clock.tick() }
        clock.timer = timer
        timer.schedule(afterMilliseconds: SCTPStack.tickMilliseconds)
    }

    private func tick() {
        let now = ContinuousClock.now
        let elapsed = now - last
        last = now
        let (seconds, attoseconds) = elapsed.components
        var nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000 + carryNanoseconds
        let milliseconds = nanoseconds / 1_000_000
        nanoseconds -= milliseconds * 1_000_000
        carryNanoseconds = nanoseconds
        if milliseconds > 0 {
            usrsctp_handle_timers(UInt32(clamping: milliseconds))
        }
        timer?.schedule(afterMilliseconds: SCTPStack.tickMilliseconds)
    }
}
