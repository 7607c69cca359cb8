/// What the server's egress plumbing drives: something that takes the plain RTP of numbered
/// tracks and writes one file (or, for a composite, streams too or instead). `FileRecorder` copies the tracks' streams; `CompositeRecorder`
/// decodes them and draws and mixes one picture and one sound.
///
/// Confined to one thread (the egress writer's): packets, sender reports and ticks come in
/// order from there, and the callbacks are called from there.
public protocol RTPRecorder: AnyObject {
    /// Asks the publisher of a track for a keyframe (a PLI).
    var onKeyframeNeeded: ((_ track: Int) -> Void)? { get set }
    /// Called once when the recording fails; input is ignored from then on.
    var onFailure: ((RecordingError) -> Void)? { get set }
    var keyframeRequestIntervalNanoseconds: UInt64 { get set }
    /// How often `tick` wants calling.
    var tickIntervalNanoseconds: UInt64 { get }
    /// Whether a frame has reached the file (the egress is ACTIVE from then on).
    var hasWrittenFrames: Bool { get }

    func receiveRTP(_ packet: UnsafeRawBufferPointer, track: Int, arrivalNanoseconds: UInt64)
    func receiveSenderReport(track: Int, ntp: UInt64, rtpTimestamp: UInt32)
    /// `backlog`: how far behind the wall clock the writer is working (0 when it keeps up), so
    /// a recorder with optional work (a composite's frames) can shed it instead of falling
    /// further behind.
    func tick(now: UInt64, backlog: UInt64)
    /// Writes what is buffered and the trailer, and closes the file.
    func finish() throws(RecordingError) -> RecordingResult
}

extension RTPRecorder {
    public func tick(now: UInt64) { tick(now: now, backlog: 0) }
}

extension FileRecorder: RTPRecorder {
    /// Ticks only release frames a stalled track holds back; a tenth of a second is plenty.
    public var tickIntervalNanoseconds: UInt64 { 100_000_000 }
    public var hasWrittenFrames: Bool { tracks.contains { $0.framesWritten > 0 } }
}
