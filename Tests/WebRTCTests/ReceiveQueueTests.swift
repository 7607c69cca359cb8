import Testing
@testable import WebRTC

/// What the handler saw, touched only on the worker.
private final class Seen: @unchecked Sendable {
    var order: [UInt8] = []
    /// How many datagrams had been handled when the other job ran (nil: not yet).
    var handledWhenJobRan: Int?
    /// How many datagrams had been handled at each batch end.
    var batchEnds: [Int] = []
    var queue: ReceiveQueue?
}

@Suite struct ReceiveQueueTests {
    /// Pushes `count` one-byte datagrams (their index) from the loop, then queues a plain job.
    private func fill(_ seen: Seen, worker: MediaWorker, capacity: Int, count: Int) async throws {
        try await worker.run {
            let queue = ReceiveQueue(worker: worker, capacity: capacity,
                                     handler: { datagram in seen.order.append(datagram[0]) },
                                     batchEnded: { seen.batchEnds.append(seen.order.count) })
            seen.queue = queue
            for i in 0..<count {
                var byte = UInt8(i)
                _ = withUnsafeBytes(of: &byte) { queue.push($0) }
            }
            worker.execute { seen.handledWhenJobRan = seen.order.count }
        }
    }

    private func settle(_ worker: MediaWorker, until done: @escaping @Sendable () -> Bool) async throws {
        for _ in 0..<200 where !(try await worker.run { done() }) {
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func deliversInOrderInBatchesAndLetsOtherWorkRunBetween() async throws {
        let worker = MediaWorker(name: "test-rq")
        defer { worker.stop() }
        let seen = Seen()
        try await fill(seen, worker: worker, capacity: 64, count: 40)
        try await settle(worker) { seen.order.count == 40 && seen.handledWhenJobRan != nil }
        try await worker.run {
            #expect(seen.order == (0..<40).map { UInt8($0) })
            // The job queued after the 40 datagrams ran before they were all handled: the queue
            // gives the loop back after each batch instead of draining everything in one go.
            #expect((seen.handledWhenJobRan ?? 40) < 40)
            #expect(seen.queue?.drops == 0)
            #expect(seen.queue?.highWater == 40)
            // Each dispatch ends its batch, of at most `ReceiveQueue.batch` datagrams.
            #expect(seen.batchEnds.last == 40)
            let sizes = zip(seen.batchEnds, [0] + seen.batchEnds).map { $0 - $1 }
            #expect(sizes.allSatisfy { $0 >= 1 && $0 <= ReceiveQueue.batch }, "\(sizes)")
            seen.queue = nil
        }
    }

    @Test func aFullQueueDropsAndCounts() async throws {
        let worker = MediaWorker(name: "test-rq-full")
        defer { worker.stop() }
        let seen = Seen()
        let totalBefore = PeerTransport.receiveQueueDropsTotal
        try await fill(seen, worker: worker, capacity: 16, count: 21)
        try await settle(worker) { seen.order.count == 16 }
        try await worker.run {
            #expect(seen.order == (0..<16).map { UInt8($0) })
            #expect(seen.queue?.drops == 5)
            // The process-wide count the metrics export (other tests may drop at the same time).
            #expect(PeerTransport.receiveQueueDropsTotal - totalBefore >= 5)
            seen.queue = nil
        }
    }

    @Test func detachStopsDelivery() async throws {
        let worker = MediaWorker(name: "test-rq-detach")
        defer { worker.stop() }
        let seen = Seen()
        try await worker.run {
            let queue = ReceiveQueue(worker: worker, capacity: 8) { seen.order.append($0[0]) }
            var byte: UInt8 = 7
            _ = withUnsafeBytes(of: &byte) { queue.push($0) }
            queue.detach()
            seen.queue = queue
        }
        try await Task.sleep(for: .milliseconds(50))
        try await worker.run {
            #expect(seen.order.isEmpty)
            seen.queue = nil
        }
    }
}
