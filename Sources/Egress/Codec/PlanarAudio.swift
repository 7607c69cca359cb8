import CFFmpeg

/// A run of 32-bit float audio, one buffer per channel (libavutil's `fltp` layout), borrowed:
/// valid only while its owner (a decoded `AVFrame`, or the caller's arrays) is.
public struct PlanarAudio {
    public let channelCount: Int
    public let sampleCount: Int
    private let planes: UnsafePointer<UnsafeMutablePointer<UInt8>?>

    /// `planes` points at `channelCount` channel buffers of `sampleCount` floats each.
    public init(planes: UnsafePointer<UnsafeMutablePointer<UInt8>?>, channelCount: Int, sampleCount: Int) {
        self.planes = planes
        self.channelCount = channelCount
        self.sampleCount = sampleCount
    }

    /// A decoded frame in `fltp`; nil for any other sample format.
    public init?(frame: UnsafePointer<AVFrame>) {
        guard frame.pointee.format == AV_SAMPLE_FMT_FLTP.rawValue, let planes = frame.pointee.extended_data else { return nil }
        self.init(planes: planes, channelCount: Int(frame.pointee.ch_layout.nb_channels), sampleCount: Int(frame.pointee.nb_samples))
    }

    public func channel(_ index: Int) -> UnsafeBufferPointer<Float> {
        guard index >= 0, index < channelCount, let plane = planes[index] else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: UnsafeRawPointer(plane).assumingMemoryBound(to: Float.self), count: sampleCount)
    }

    /// Lends Swift arrays (one per channel, all the same length) as planar audio. Copies once;
    /// meant for tests and mixers, not per-packet paths.
    public static func withChannels<R>(_ channels: [[Float]], _ body: (PlanarAudio) throws -> R) rethrows -> R {
        let count = channels.map(\.count).min() ?? 0
        let storage = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count * channels.count))
        let planes = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: max(1, channels.count))
        defer {
            storage.deallocate()
            planes.deallocate()
        }
        for (index, samples) in channels.enumerated() {
            let start = storage + index * count
            samples.withUnsafeBufferPointer { start.initialize(from: $0.baseAddress!, count: count) }
            planes[index] = UnsafeMutableRawPointer(start).assumingMemoryBound(to: UInt8.self)
        }
        return try body(PlanarAudio(planes: planes, channelCount: channels.count, sampleCount: count))
    }
}
