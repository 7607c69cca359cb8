/// Mixes the decoded audio of many tracks into one 48 kHz stereo timeline: each track's samples
/// are added where they belong in time, and the mix is read out in order, clipped to [-1, 1].
///
/// Positions are sample indexes on the output timeline (sample 0 is the composite's start).
/// The mix is two ring buffers of `capacity` samples, so a track may run ahead of the read
/// position by up to that much; samples that arrive for a time already read out (a track later
/// than the mixing delay) or too far ahead are dropped and counted. Nothing allocates after init.
public struct AudioMixer {
    public let capacity: Int
    /// The next position `read` hands out.
    public private(set) var readPosition: Int64 = 0
    /// Samples dropped because they came after their time was read out, or too far ahead.
    public private(set) var samplesLate = 0
    public private(set) var samplesTooEarly = 0

    private var left: [Float]
    private var right: [Float]

    public init(capacity: Int = 4 * CompositeOptions.audioSampleRate) {
        self.capacity = max(1, capacity)
        left = Array(repeating: 0, count: self.capacity)
        right = Array(repeating: 0, count: self.capacity)
    }

    /// Moves the read position without output (e.g. to where the first audio starts).
    public mutating func skip(to position: Int64) {
        guard position > readPosition else { return }
        let cleared = Int(min(Int64(capacity), position - readPosition))
        for offset in 0..<cleared {
            let slot = ring(readPosition + Int64(offset))
            left[slot] = 0
            right[slot] = 0
        }
        readPosition = position
    }

    /// Adds `count` samples of one track at `position`. Mono (`right` nil) goes to both sides.
    public mutating func add(left source: UnsafePointer<Float>, right sourceRight: UnsafePointer<Float>?, count: Int,
                             at position: Int64) {
        guard count > 0 else { return }
        let horizon = readPosition + Int64(capacity)
        for index in 0..<count {
            let at = position + Int64(index)
            if at < readPosition {
                samplesLate += 1
                continue
            }
            if at >= horizon {
                samplesTooEarly += count - index
                return
            }
            let slot = ring(at)
            left[slot] += source[index]
            right[slot] += (sourceRight ?? source)[index]
        }
    }

    /// Reads `count` samples from the read position into the two outputs (clipped), clearing
    /// them in the ring, and advances.
    public mutating func read(count: Int, left outLeft: UnsafeMutablePointer<Float>, right outRight: UnsafeMutablePointer<Float>) {
        for index in 0..<count {
            let slot = ring(readPosition + Int64(index))
            outLeft[index] = max(-1, min(1, left[slot]))
            outRight[index] = max(-1, min(1, right[slot]))
            left[slot] = 0
            right[slot] = 0
        }
        readPosition += Int64(count)
    }

    private func ring(_ position: Int64) -> Int {
        Int(position % Int64(capacity))
    }
}
