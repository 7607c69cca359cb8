import Foundation

/// Placeholder until the codec wrappers land: refuses to open.
public final class CompositeRecorder: RTPRecorder {
    public let path: String
    public var onKeyframeNeeded: ((_ track: Int) -> Void)?
    public var onFailure: ((RecordingError) -> Void)?
    public var keyframeRequestIntervalNanoseconds: UInt64 = 500_000_000
    public var tickIntervalNanoseconds: UInt64 { 20_000_000 }
    public var hasWrittenFrames: Bool { false }

    public init(path: String, options: CompositeOptions) throws(RecordingError) {
        self.path = path
        throw .muxerSetupFailed("room composite needs the codec wrappers")
    }

    public func addTrack(_ index: Int, _ track: RecordingTrack, participant: String, isScreenShare: Bool) {}
    public func removeTrack(_ index: Int) {}
    public func markScreenShare(_ index: Int) {}
    public func setLayout(_ layout: CompositeLayout) {}
    public func receiveRTP(_ packet: UnsafeRawBufferPointer, track: Int, arrivalNanoseconds: UInt64) {}
    public func receiveSenderReport(track: Int, ntp: UInt64, rtpTimestamp: UInt32) {}
    public func tick(now: UInt64) {}
    public func finish() throws(RecordingError) -> RecordingResult { throw .alreadyFinished }
}
