import CNice
import CShims
import Synchronization

/// Received SRTP datagrams waiting for their worker's loop, so that one busy peer cannot hold it.
///
/// Why it exists: libnice's receive callback (`nice_agent_attach_recv`) reads its socket until
/// the read would block, calling us once per datagram, and only then returns to the GLib loop.
/// When what we do per packet inside that call (a publisher's fan-out: rewrite, SRTP protect and
/// send for every subscriber) takes longer than the time between two packets, the socket never
/// empties and the call never returns. Every other source on the worker then starves: the
/// subscribers' STUN (connectivity checks, RFC 7675 consent), DTLS, timers and the control
/// plane's jobs; after libnice's consent timeout, subscribers that were only slow fail ICE.
/// With this queue the libnice callback only copies the datagram into a slot; our own GSource
/// processes at most `batch` datagrams per dispatch and lets the loop serve everything else
/// between batches. Overload then shows as drops here (counted), as with a full socket buffer.
///
/// A ring of fixed-size slots allocated once: no allocation and no lock per packet
/// (loop-confined: push, drain and drop it on its worker).
final class ReceiveQueue {
    /// Slots: about 0.45 s of a 2.5 Mbps stream (1,200-byte packets); more only adds delay.
    static let defaultCapacity = 128
    /// Datagrams handled per dispatch before the loop gets a turn (each may fan out to hundreds
    /// of subscribers: keep a dispatch to a few milliseconds at most).
    static let batch = 8
    /// Largest datagram a slot holds (an RTP packet of `PeerTransport.maxPacketSize` plus the
    /// SRTP trailer); larger ones are handed over directly, without queueing.
    static let slotSize = 1600

    /// Datagrams dropped by every queue of the process since it started, for the metrics
    /// (`sluice_receive_queue_drop_total`). Touched only when a datagram is dropped.
    static let droppedTotal = Atomic<Int>(0)

    let capacity: Int
    /// Datagrams dropped because the queue was full.
    private(set) var drops = 0
    /// Deepest the queue has been.
    private(set) var highWater = 0
    private let storage: UnsafeMutableRawBufferPointer
    private let lengths: UnsafeMutablePointer<Int>
    private var head = 0
    private var count = 0
    private var signalled = false
    private var source: UnsafeMutablePointer<GSource>!
    /// Takes one datagram (modifiable in place, valid during the call). Cleared by `detach`.
    private var handler: ((UnsafeMutableRawBufferPointer) -> Void)?
    /// Told after each batch the handler took (so the receiver can finish work it grouped).
    private var batchEnded: (() -> Void)?

    init(worker: MediaWorker, capacity: Int = ReceiveQueue.defaultCapacity,
         handler: @escaping (UnsafeMutableRawBufferPointer) -> Void, batchEnded: (() -> Void)? = nil) {
        worker.preconditionIsCurrent()
        self.capacity = capacity
        self.handler = handler
        self.batchEnded = batchEnded
        storage = .allocate(byteCount: capacity * Self.slotSize, alignment: 16)
        lengths = .allocate(capacity: capacity)
        lengths.initialize(repeating: 0, count: capacity)
        source = sluice_wake_source_new(worker.context, { raw in
            let queue = Unmanaged<ReceiveQueue>.fromOpaque(raw!).takeUnretainedValue()
            // The handler may drop the queue's owner (and so the queue): keep it alive until
            // the dispatch returns; GLib allows destroying a source inside its own dispatch.
            withExtendedLifetime(queue) { queue.drain() }
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        g_source_destroy(source)
        g_source_unref(source)
        storage.deallocate()
        lengths.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// Copies `datagram` into the next free slot and wakes the loop. False when it does not fit
    /// a slot (the caller handles it directly). A full queue drops it (counted) and returns true.
    @inline(__always)
    func push(_ datagram: UnsafeRawBufferPointer) -> Bool {
        guard datagram.count <= Self.slotSize else { return false }
        guard handler != nil else { return true }
        guard count < capacity else {
            drops += 1
            Self.droppedTotal.add(1, ordering: .relaxed)
            return true
        }
        var tail = head + count
        if tail >= capacity { tail -= capacity }
        let slot = storage.baseAddress! + tail * Self.slotSize
        if let base = datagram.baseAddress { slot.copyMemory(from: base, byteCount: datagram.count) }
        lengths[tail] = datagram.count
        count += 1
        if count > highWater { highWater = count }
        if !signalled {
            signalled = true
            sluice_wake_source_signal(source)
        }
        return true
    }

    /// Forgets what is queued and stops calling the handler (the owner is closing or gone).
    func detach() {
        handler = nil
        batchEnded = nil
        count = 0
        head = 0
    }

    private func drain() {
        signalled = false
        var handled = 0
        while count > 0, handled < Self.batch, let handler {
            let slot = UnsafeMutableRawBufferPointer(start: storage.baseAddress! + head * Self.slotSize,
                                                     count: lengths[head])
            handler(slot)
            handled += 1
            // The handler may have detached the queue (count 0); otherwise pop the slot only now,
            // so nothing pushed meanwhile could reuse it.
            guard count > 0 else { break }
            head += 1
            if head == capacity { head = 0 }
            count -= 1
        }
        if handled > 0, let batchEnded { batchEnded() }
        if count > 0, handler != nil, !signalled {
            signalled = true
            sluice_wake_source_signal(source)
        }
    }
}
