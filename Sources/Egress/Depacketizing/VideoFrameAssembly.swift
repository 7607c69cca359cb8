/// The frame-completion rules both video depacketizers share, with the buffer the frame is
/// rebuilt in.
///
/// A frame is the run of packets sharing one RTP timestamp. It is complete at its marker bit, or
/// when the next timestamp begins with no sequence gap (some senders omit the marker). It is broken
/// when it lacks its first packet, loses a packet, or carries one the codec cannot parse; a broken
/// frame is never emitted, and since later frames may reference it, the assembly then waits for a
/// keyframe. The buffer keeps its capacity across frames, so steady state does not allocate.
struct VideoFrameAssembly {
    private(set) var buffer: [UInt8] = []
    private(set) var timestamp: UInt32 = 0
    /// Some packet of the current frame has been seen.
    private(set) var inFrame = false
    private(set) var broken = false
    var isKeyframe = false
    /// Set at the start and after any loss; cleared by the next complete keyframe.
    private(set) var waitingForKeyframe = true

    private(set) var framesEmitted = 0
    private(set) var framesDropped = 0

    init(initialCapacity: Int = 64 * 1024) {
        buffer.reserveCapacity(initialCapacity)
    }

    /// Packets went missing just before the current one.
    mutating func noteLoss() {
        if inFrame { broken = true }
        waitingForKeyframe = true
    }

    /// Call with every packet before appending it: closes a marker-less frame when the timestamp
    /// moves on, and opens a frame when none is open. Returns true when the packet opens a frame.
    mutating func prepare(for rtpTimestamp: UInt32, emit: (EncodedFrame) -> Void) -> Bool {
        if inFrame, rtpTimestamp != timestamp { finish(emit: emit) }
        guard !inFrame else { return false }
        inFrame = true
        broken = false
        isKeyframe = false
        timestamp = rtpTimestamp
        buffer.removeAll(keepingCapacity: true)
        return true
    }

    /// The current frame cannot be rebuilt; it is dropped at its end.
    mutating func markBroken() {
        broken = true
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !broken else { return }
        buffer.append(contentsOf: bytes)
    }

    mutating func append(_ byte: UInt8) {
        guard !broken else { return }
        buffer.append(byte)
    }

    /// Overwrites bytes already appended (a length prefix known only at the end of a unit).
    mutating func patch(_ byte: UInt8, at index: Int) {
        guard !broken, index < buffer.count else { return }
        buffer[index] = byte
    }

    var count: Int { buffer.count }

    /// Ends the current frame: emits it when whole (and, while waiting, only if it is a keyframe).
    mutating func finish(emit: (EncodedFrame) -> Void) {
        guard inFrame else { return }
        inFrame = false
        if broken || buffer.isEmpty {
            framesDropped += 1
            waitingForKeyframe = true
            return
        }
        if waitingForKeyframe {
            guard isKeyframe else {
                framesDropped += 1
                return
            }
            waitingForKeyframe = false
        }
        framesEmitted += 1
        let timestamp = timestamp, keyframe = isKeyframe
        buffer.withUnsafeBytes { emit(EncodedFrame(data: $0, rtpTimestamp: timestamp, isKeyframe: keyframe)) }
    }

    /// Drops the partial frame; the next frame must be a keyframe.
    mutating func reset() {
        inFrame = false
        broken = false
        buffer.removeAll(keepingCapacity: true)
        waitingForKeyframe = true
    }
}
