import CShims
import Testing
import WebRTC

/// An actor whose executor is a media worker's GLib loop.
actor LoopCounter {
    let worker: MediaWorker
    var count = 0
    var offLoopCalls = 0
    nonisolated var unownedExecutor: UnownedSerialExecutor { worker.asUnownedSerialExecutor() }

    init(worker: MediaWorker) { self.worker = worker }

    func increment() -> Int {
        if !worker.isCurrent { offLoopCalls += 1 }
        count += 1
        return count
    }

    /// Called from a C callback on the loop thread: enters the actor synchronously.
    nonisolated func enterFromC() {
        assumeIsolated { counter in
            if !counter.worker.isCurrent { counter.offLoopCalls += 1 }
            counter.count += 100
        }
    }
}

@Suite struct MediaWorkerTests {
    /// A worker stopped or dropped right after it was made still stops: its thread may not have
    /// started iterating yet (with `g_main_loop_run`, a quit landing first was forgotten and the
    /// join hung, as a server failing at start or a test dropping its app showed).
    @Test func aWorkerStoppedAtOnceStillStops() {
        for i in 0..<300 {
            let worker = MediaWorker(name: "test-quick-\(i % 10)")
            if i % 2 == 0 { worker.stop() }
            // Odd rounds: the last reference goes here, and deinit stops and joins.
        }
    }

    @Test func actorJobsRunOnTheLoopThread() async throws {
        let worker = MediaWorker(name: "test-exec")
        defer { worker.stop() }
        #expect(!worker.isCurrent)
        let counter = LoopCounter(worker: worker)
        for i in 1...1000 {
            #expect(await counter.increment() == i)
        }
        // Many concurrent callers: still serial.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<250 { _ = await counter.increment() } }
            }
        }
        #expect(await counter.count == 3000)
        #expect(await counter.offLoopCalls == 0)
    }

    @Test func cCallbackEntersActorWithAssumeIsolated() async throws {
        let worker = MediaWorker(name: "test-c-entry")
        defer { worker.stop() }
        let counter = LoopCounter(worker: worker)
        // A plain GLib source on the worker context, C function pointer, no Task anywhere.
        let source = sluice_timeout_source_new(worker.context, 1, { raw in
            let counter = Unmanaged<LoopCounter>.fromOpaque(raw!).takeUnretainedValue()
            precondition(withUnsafeCurrentTask { $0 == nil }, "expected no current task in a C callback")
            counter.enterFromC()
            return 0  // G_SOURCE_REMOVE
        }, Unmanaged.passRetained(counter).toOpaque(), { raw in
            Unmanaged<LoopCounter>.fromOpaque(raw!).release()
        })
        g_source_unref(source)
        try await waitUntil("C callback", seconds: 2) { await counter.count == 100 }
        #expect(await counter.offLoopCalls == 0)
    }

    @Test func executeAndRunHopToTheLoop() async throws {
        let worker = MediaWorker(name: "test-run")
        defer { worker.stop() }
        let onLoop = try await worker.run { worker.isCurrent }
        #expect(onLoop)
    }

    @Test func loopTimerFiresOnTheLoop() async throws {
        let worker = MediaWorker(name: "test-timer")
        defer { worker.stop() }
        let start = ContinuousClock.now
        let fired: Bool = try await withCheckedThrowingContinuation { continuation in
            worker.execute {
                // The timer is loop-confined: created and fired on the worker thread.
                nonisolated(unsafe) var timer: LoopTimer?
                timer = LoopTimer(worker: worker) {
                    continuation.resume(returning: worker.isCurrent)
                    timer = nil
                }
                timer?.schedule(afterMilliseconds: 20)
            }
        }
        #expect(fired)
        #expect(ContinuousClock.now - start >= .milliseconds(19))
    }

    #if os(Linux) || os(macOS)
    @Test func assumeIsolatedOffTheLoopTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let worker = MediaWorker(name: "test-trap")
            let counter = LoopCounter(worker: worker)
            counter.enterFromC()  // wrong thread: the executor's isolation check must trap
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("Incorrect actor executor assumption") || stderr.contains("expected to run on media worker"))
    }
    #endif
}
