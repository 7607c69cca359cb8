import CFFmpeg

/// Collects float audio runs of any length and gives them back in fixed-size frames, as an
/// encoder's `frame_size` demands (1024 for AAC, 1152 for MP3, 960 for 20 ms Opus). Converts the
/// channel count on the way in: mono is copied to both sides, more channels are averaged down to
/// mono, and extra channels beyond the output's are dropped.
struct AudioSampleFIFO {
    let channels: Int
    /// Per output channel; samples before `head` are consumed.
    private var buffers: [[Float]]
    private var head = 0

    init(channels: Int) {
        self.channels = max(1, channels)
        buffers = Array(repeating: [], count: self.channels)
        for index in buffers.indices { buffers[index].reserveCapacity(8192) }
    }

    var count: Int { buffers[0].count - head }

    mutating func append(_ audio: PlanarAudio) {
        guard audio.channelCount > 0, audio.sampleCount > 0 else { return }
        compact()
        if channels == 1, audio.channelCount > 1 {
            let scale = 1 / Float(audio.channelCount)
            let start = buffers[0].count
            buffers[0].append(contentsOf: audio.channel(0))
            for channel in 1 ..< audio.channelCount {
                let source = audio.channel(channel)
                for index in 0 ..< audio.sampleCount { buffers[0][start + index] += source[index] }
            }
            for index in start ..< buffers[0].count { buffers[0][index] *= scale }
        } else {
            for channel in 0 ..< channels {
                buffers[channel].append(contentsOf: audio.channel(min(channel, audio.channelCount - 1)))
            }
        }
    }

    mutating func appendSilence(_ samples: Int) {
        guard samples > 0 else { return }
        compact()
        for channel in 0 ..< channels { buffers[channel].append(contentsOf: repeatElement(0, count: samples)) }
    }

    /// Moves `samples` samples (fewer if fewer are held) into `frame`, whose buffers hold at least
    /// `samples`, in the frame's sample format (planar or interleaved float). Returns how many.
    mutating func read(_ samples: Int, into frame: UnsafeMutablePointer<AVFrame>) -> Int {
        let taken = min(samples, count)
        guard taken > 0, let planes = frame.pointee.extended_data else { return 0 }
        if frame.pointee.format == AV_SAMPLE_FMT_FLT.rawValue {
            guard let plane = planes[0] else { return 0 }
            let interleaved = UnsafeMutableRawPointer(plane).assumingMemoryBound(to: Float.self)
            for channel in 0 ..< channels {
                buffers[channel].withUnsafeBufferPointer { source in
                    for index in 0 ..< taken { interleaved[index * channels + channel] = source[head + index] }
                }
            }
        } else {
            for channel in 0 ..< channels {
                guard let plane = planes[channel] else { continue }
                let destination = UnsafeMutableRawPointer(plane).assumingMemoryBound(to: Float.self)
                buffers[channel].withUnsafeBufferPointer { source in
                    destination.update(from: source.baseAddress! + head, count: taken)
                }
            }
        }
        head += taken
        return taken
    }

    /// Drops consumed samples once they outweigh what is held, keeping appends amortised O(1).
    private mutating func compact() {
        guard head > 0, head >= count else { return }
        for channel in 0 ..< channels { buffers[channel].removeFirst(head) }
        head = 0
    }
}
