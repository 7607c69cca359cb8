import Egress
import Foundation
import SFU

/// Runs one recording's recorder (a `FileRecorder`, or a `CompositeRecorder` that also decodes
/// and encodes) on a thread of its own, fed through a bounded ring of packet copies, so the media
/// worker never waits for the disk or a codec (ARCHITECTURE.md: the RTP path is never blocked by
/// egress).
///
/// The worker's side (`push`, `pushSenderReport`) only locks, copies the packet into a slot
/// allocated up front, and signals: no allocation, no I/O. When the ring is full the packet is
/// dropped and counted; the depacketizer sees the gap as loss, and video asks for a keyframe.
/// The writer thread depacketizes, muxes and writes, and ticks the recorder as often as it asks.
/// Control-plane changes to a running recorder (a composite's tracks and layout) go through the
/// same ring as `perform` commands, so they take effect in order with the packets around them.
final class EgressWriterThread: @unchecked Sendable {
    private enum Kind { case rtp, senderReport, command }
    private struct Slot {
        var kind = Kind.rtp
        var track = 0
        var length = 0
        /// When the packet arrived, or when a report or command was queued: the writer's tick
        /// never runs ahead of what waits in the ring.
        var arrival: UInt64 = 0
        var ntp: UInt64 = 0
        var rtpTimestamp: UInt32 = 0
    }

    static let capacity = 2048  // about 2 s of a 5 Mbit/s video plus audio
    static let slotSize = 1500
    static let commandReserve = 64

    private let condition = NSCondition()
    private let storage: UnsafeMutableRawPointer
    private var slots: [Slot]
    private var head = 0
    private var tail = 0
    private var count = 0
    private var stopping = false
    private var finished: Result<RecordingResult, RecordingError>?
    private var waiters: [CheckedContinuation<Result<RecordingResult, RecordingError>, Never>] = []
    /// Commands waiting in the ring, in order (a `.command` slot takes the first).
    private var commands: [() -> Void] = []
    /// Packets dropped because the ring was full or the packet too large (producer side).
    private(set) var dropped = 0
    private(set) var commandsDropped = 0

    /// Touched only by the writer thread once started.
    private let recorder: any RTPRecorder
    private let name: String
    private let onActive: @Sendable () -> Void
    private var reportedActive = false

    /// `onKeyframeNeeded` and `onFailure`, set on the recorder, run on the writer thread.
    init(recorder: any RTPRecorder, name: String, onActive: @escaping @Sendable () -> Void) {
        self.recorder = recorder
        self.name = name
        self.onActive = onActive
        let ringSize = Self.capacity + Self.commandReserve
        storage = .allocate(byteCount: ringSize * Self.slotSize, alignment: 16)
        slots = Array(repeating: Slot(), count: ringSize)
    }

    deinit {
        storage.deallocate()
    }

    func start() {
        let thread = Thread { [self] in
            // Named from inside: on Linux only the thread itself can name itself (what top and
            // /proc show, at most 15 characters); otherwise it keeps the media worker's name.
            Thread.current.name = name
            run()
        }
        thread.name = name
        thread.start()
    }

    // MARK: Producer (the media worker)

    func push(_ packet: UnsafeRawBufferPointer, track: Int, arrival: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, count < Self.capacity, packet.count <= Self.slotSize, let base = packet.baseAddress else {
            dropped += 1
            return
        }
        (storage + head * Self.slotSize).copyMemory(from: base, byteCount: packet.count)
        slots[head] = Slot(kind: .rtp, track: track, length: packet.count, arrival: arrival)
        enqueued()
    }

    func pushSenderReport(track: Int, ntp: UInt64, rtpTimestamp: UInt32) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, count < Self.capacity else { return }
        slots[head] = Slot(kind: .senderReport, track: track, arrival: SystemClock.monotonic(), ntp: ntp,
                           rtpTimestamp: rtpTimestamp)
        enqueued()
    }

    /// Runs `command` on the writer thread after the packets already queued (off the packet
    /// path: this allocates). Commands have `commandReserve` slots beyond the packets' share of
    /// the ring, so a ring full of packets does not lose one.
    /// False when the command was dropped (the writer is finishing): it will never run.
    @discardableResult
    func perform(_ command: @escaping () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, count < slots.count else {
            commandsDropped += 1
            return false
        }
        commands.append(command)
        slots[head] = Slot(kind: .command, arrival: SystemClock.monotonic())
        enqueued()
        return true
    }

    private func enqueued() {
        head = (head + 1) % slots.count
        count += 1
        if count == 1 { condition.signal() }
    }

    // MARK: Finish (control plane)

    /// Writes what is queued, then the trailer; resumes once the file is closed.
    func finish() async -> Result<RecordingResult, RecordingError> {
        await withCheckedContinuation { continuation in
            condition.lock()
            if let finished {
                condition.unlock()
                continuation.resume(returning: finished)
                return
            }
            waiters.append(continuation)
            stopping = true
            condition.signal()
            condition.unlock()
        }
    }

    // MARK: Writer thread

    private func run() {
        let tickInterval = recorder.tickIntervalNanoseconds
        var nextTick = SystemClock.monotonic() + tickInterval
        while true {
            condition.lock()
            while count == 0 && !stopping {
                let now = SystemClock.monotonic()
                if now >= nextTick { break }
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(nextTick - now) / 1e9))
            }
            if count == 0 && stopping {
                condition.unlock()
                break
            }
            let slot: Slot? = count > 0 ? slots[tail] : nil
            let index = tail
            let command: (() -> Void)? = slot?.kind == .command ? commands.removeFirst() : nil
            condition.unlock()

            if let slot {
                switch slot.kind {
                case .rtp:
                    recorder.receiveRTP(UnsafeRawBufferPointer(start: storage + index * Self.slotSize, count: slot.length),
                                        track: slot.track, arrivalNanoseconds: slot.arrival)
                case .senderReport:
                    recorder.receiveSenderReport(track: slot.track, ntp: slot.ntp, rtpTimestamp: slot.rtpTimestamp)
                case .command:
                    command?()
                }
                condition.lock()
                tail = (tail + 1) % slots.count
                count -= 1
                condition.unlock()
            }
            let now = SystemClock.monotonic()
            if now >= nextTick {
                // While anything waits in the ring the writer is behind (a busy machine): tick at
                // the next waiting slot's time, not the wall clock, or the recorder would take a
                // gap that packet fills for loss (and drop frames until a keyframe), and count the
                // writer's own delay as time the publisher had: a composite then draws and encodes
                // frames for that delay too, falls further behind, and its file outgrows the
                // recording (15 s of video for 6 s recorded, 20 s to close it, before every slot
                // carried a time).
                condition.lock()
                let waiting = count > 0 ? slots[tail].arrival : now
                condition.unlock()
                recorder.tick(now: min(now, waiting), backlog: now > waiting ? now - waiting : 0)
                nextTick = now + tickInterval
                if !reportedActive, recorder.hasWrittenFrames {
                    reportedActive = true
                    onActive()
                }
            }
        }
        let result = Result { () throws(RecordingError) in try recorder.finish() }
        condition.lock()
        finished = result
        let waiting = waiters
        waiters.removeAll()
        condition.unlock()
        for waiter in waiting { waiter.resume(returning: result) }
    }
}
