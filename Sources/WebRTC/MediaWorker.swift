import CNice
import CShims
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A media thread: iterates its own `GMainContext` and is a Swift `SerialExecutor`.
///
/// Give an actor this executor (`nonisolated var unownedExecutor { worker.asUnownedSerialExecutor() }`)
/// and C callbacks that libnice/GLib dispatch on this thread may enter it synchronously with
/// `actor.assumeIsolated { ... }`: the isolation check is "am I on this worker's thread".
///
/// Jobs enter through one custom GSource woken with `g_source_set_ready_time` (thread safe,
/// coalescing); they are never run inline from `enqueue`, even on the loop thread.
public final class MediaWorker: SerialExecutor, @unchecked Sendable {
    public let name: String
    /// The worker's GLib context. Attach sources to it; never iterate it from another thread.
    public let context: OpaquePointer
    /// The thread's run flag, shared with it.
    private let start: LoopStart
    private var wakeSource: UnsafeMutablePointer<GSource>!
    private let thread: pthread_t
    /// Jobs waiting for the loop, guarded by `lock` (a pthread mutex rather than
    /// Synchronization.Mutex so ThreadSanitizer sees the happens-before edges).
    private var pending: [Work] = []
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    /// Only touched on the loop thread.
    private var draining: [Work] = []

    private enum Work {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }
    private let stopped = Atomic<Bool>(false)
    /// Where a transport on this worker protects the packet it is sending (copy, SRTP protect in
    /// place, send): one buffer for all of them, so it stays in the core's cache. A buffer per
    /// transport was a cold one per subscriber in a fan-out, a cache miss on every line of every
    /// copy. Loop-confined, and nothing reenters a send while the buffer is in use.
    let sendScratch: UnsafeMutableRawBufferPointer

    public init(name: String = "sluice-media") {
        self.name = name
        sendScratch = .allocate(byteCount: PeerTransport.maxPacketSize + SRTPSession.maxRTCPTrailer, alignment: 64)
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        let context = g_main_context_new()!
        self.context = context
        let start = LoopStart(context: context, name: name)
        self.start = start
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { raw in
            let start = Unmanaged<LoopStart>.fromOpaque(raw!).takeRetainedValue()
            start.run()
            return nil
        }, Unmanaged.passRetained(start).toOpaque())
        precondition(rc == 0, "pthread_create failed: \(rc)")
        self.thread = tid
        pending.reserveCapacity(64)
        draining.reserveCapacity(64)
        self.wakeSource = sluice_wake_source_new(context, { raw in
            Unmanaged<MediaWorker>.fromOpaque(raw!).takeUnretainedValue().drain()
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        if !stopped.exchange(true, ordering: .acquiringAndReleasing) {
            start.requestQuit()
            if isCurrent {
                // Last reference dropped on the loop itself: let the thread finish on its own
                // (LoopStart holds its own context reference).
                pthread_detach(thread)
            } else {
                pthread_join(thread, nil)
            }
        }
        g_source_destroy(wakeSource)
        g_source_unref(wakeSource)
        g_main_context_unref(context)
        pthread_mutex_destroy(lock)
        lock.deallocate()
        sendScratch.deallocate()
    }

    /// True when the caller runs on this worker's loop thread.
    @inline(__always)
    public var isCurrent: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Traps unless called on this worker's loop thread.
    @inline(__always)
    public func preconditionIsCurrent(file: StaticString = #fileID, line: UInt = #line) {
        precondition(isCurrent, "not on media worker \(name)", file: file, line: line)
    }

    /// Quits the loop and joins the thread. Jobs still queued are dropped (actors on this worker
    /// stop making progress), so stop a worker only after closing what runs on it. Not from the
    /// loop thread. Dropping the last reference also stops it.
    public func stop() {
        precondition(!isCurrent, "MediaWorker.stop() from its own thread would deadlock")
        if stopped.exchange(true, ordering: .acquiringAndReleasing) { return }
        start.requestQuit()
        pthread_join(thread, nil)
    }

    // MARK: SerialExecutor

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        pthread_mutex_lock(lock)
        pending.append(.job(unowned))
        pthread_mutex_unlock(lock)
        sluice_wake_source_signal(wakeSource)
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Called by the runtime for `assumeIsolated` outside a task (e.g. from a C callback).
    public func checkIsolated() {
        precondition(isCurrent, "expected to run on media worker \(name)")
    }

    public func isIsolatingCurrentContext() -> Bool? {
        isCurrent
    }

    private func drain() {
        pthread_mutex_lock(lock)
        swap(&pending, &draining)
        pthread_mutex_unlock(lock)
        let executor = asUnownedSerialExecutor()
        for work in draining {
            switch work {
            case .job(let job): job.runSynchronously(on: executor)
            case .closure(let body): body()
            }
        }
        draining.removeAll(keepingCapacity: true)
    }

    // MARK: Loop-thread helpers

    /// Runs `body` on the loop thread (from any thread), in FIFO order with actor jobs, outside any task.
    public func execute(_ body: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(lock)
        pending.append(.closure(body))
        pthread_mutex_unlock(lock)
        sluice_wake_source_signal(wakeSource)
    }

    /// Runs `body` on the loop thread and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            execute { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// What the worker thread runs: iterations of the context until asked to quit.
///
/// Not `g_main_loop_run`: a `g_main_loop_quit` that lands before the thread has entered
/// `g_main_loop_run` is forgotten (run marks the loop running again), so a worker stopped right
/// after it was made (a server that fails to start, a test that drops it at once) never joined.
/// The flag is read before every iteration, and the wake-up that follows setting it stays
/// pending in the context until an iteration consumes it, so no order of the two threads loses it.
private final class LoopStart: @unchecked Sendable {
    let context: OpaquePointer
    let name: String
    private let quit = Atomic<Bool>(false)
    init(context: OpaquePointer, name: String) {
        self.context = g_main_context_ref(context)
        self.name = name
    }
    deinit {
        g_main_context_unref(context)
    }
    func requestQuit() {
        quit.store(true, ordering: .releasing)
        g_main_context_wakeup(context)
    }
    func run() {
        sluice_thread_set_name(name)
        g_main_context_push_thread_default(context)
        while !quit.load(ordering: .acquiring) {
            g_main_context_iteration(context, 1)
        }
        g_main_context_pop_thread_default(context)
    }
}

final class CallbackBox {
    let fire: () -> Bool
    init(_ fire: @escaping () -> Bool) { self.fire = fire }
}

/// A timer on a worker's loop. Loop-confined: create, arm, cancel and drop it on the worker thread;
/// the handler runs there too. Dropping it cancels it.
public final class LoopTimer {
    private let worker: MediaWorker
    private var source: UnsafeMutablePointer<GSource>?
    private let handler: () -> Void

    public init(worker: MediaWorker, handler: @escaping () -> Void) {
        self.worker = worker
        self.handler = handler
    }

    deinit { cancel() }

    public var isArmed: Bool { source != nil }

    /// (Re)arms the timer to fire once after `milliseconds`.
    public func schedule(afterMilliseconds milliseconds: Int) {
        cancel()
        let box = Unmanaged.passRetained(CallbackBox { [weak self] in
            guard let self else { return false }
            if let s = self.source { g_source_unref(s); self.source = nil }
            self.handler()
            return false
        }).toOpaque()
        source = sluice_timeout_source_new(worker.context, UInt32(clamping: max(0, milliseconds)), { raw in
            Unmanaged<CallbackBox>.fromOpaque(raw!).takeUnretainedValue().fire() ? 1 : 0
        }, box, { raw in
            Unmanaged<CallbackBox>.fromOpaque(raw!).release()
        })
    }

    public func cancel() {
        guard let s = source else { return }
        source = nil
        g_source_destroy(s)
        g_source_unref(s)
    }
}
