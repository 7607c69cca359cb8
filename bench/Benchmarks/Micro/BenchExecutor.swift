import SFU
#if canImport(Glibc)
import Glibc
#endif

/// The serial executor a benchmark `Room` is confined to. The benchmark calls the room the way a
/// media worker's C callback does, synchronously on the executor's thread, so nothing is ever
/// enqueued and no hop or task is measured. The executor's thread is the one that created it;
/// a debug build's room traps when called from another thread, as with `MediaWorker`.
final class BenchExecutor: SerialExecutor, @unchecked Sendable {
    private let thread = pthread_self()

    var isCurrent: Bool { pthread_equal(pthread_self(), thread) != 0 }

    func enqueue(_ job: consuming ExecutorJob) {
        fatalError("benchmarks drive the room synchronously; nothing may await it")
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    func checkIsolated() {
        precondition(isCurrent, "benchmark room entered from a thread other than the one that built it")
    }

    func isIsolatingCurrentContext() -> Bool? {
        isCurrent
    }
}
