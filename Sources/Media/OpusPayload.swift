/// The Opus TOC byte (RFC 6716 §3.1): enough for an SFU to know a packet's duration and mode
/// without decoding audio.
///
///      0 1 2 3 4 5 6 7
///     | config  |s| c |
public struct OpusTOC: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        case silk, hybrid, celt
    }

    public enum Bandwidth: Int, Sendable, Equatable {
        /// Audio bandwidth in Hz.
        case narrowband = 4000, mediumband = 6000, wideband = 8000, superWideband = 12000, fullband = 20000
    }

    public let byte: UInt8

    public init(_ byte: UInt8) {
        self.byte = byte
    }

    /// The first byte of an Opus payload, or nil for an empty one.
    public init?(payload: UnsafeRawBufferPointer) {
        guard let first = payload.first else { return nil }
        self.byte = first
    }

    public var config: UInt8 { byte >> 3 }
    public var isStereo: Bool { byte & 0x04 != 0 }
    /// c: 0 = one frame, 1 = two equal frames, 2 = two different-size frames, 3 = signalled count.
    public var frameCountCode: UInt8 { byte & 0x03 }

    public var mode: Mode {
        switch config {
        case 0...11: .silk
        case 12...15: .hybrid
        default: .celt
        }
    }

    public var bandwidth: Bandwidth {
        switch config {
        case 0...3: .narrowband
        case 4...7: .mediumband
        case 8...11: .wideband
        case 12...13: .superWideband
        case 14...15: .fullband
        case 16...19: .narrowband
        case 20...23: .wideband
        case 24...27: .superWideband
        default: .fullband
        }
    }

    /// Duration of one frame in microseconds.
    public var frameDurationMicroseconds: Int {
        switch mode {
        case .silk: [10_000, 20_000, 40_000, 60_000][Int(config & 0x3)]
        case .hybrid: [10_000, 20_000][Int(config & 0x1)]
        case .celt: [2_500, 5_000, 10_000, 20_000][Int(config & 0x3)]
        }
    }

    /// Number of frames in `payload` (whose first byte is this TOC), or nil if code 3 lacks its
    /// frame-count byte or signals zero frames.
    public func frameCount(in payload: UnsafeRawBufferPointer) -> Int? {
        switch frameCountCode {
        case 0: return 1
        case 1, 2: return 2
        default:
            guard payload.count >= 2 else { return nil }
            let count = Int(payload[1] & 0x3F)
            return count == 0 ? nil : count
        }
    }

    /// Total audio duration in microseconds, or nil for a malformed code-3 packet.
    public func packetDurationMicroseconds(in payload: UnsafeRawBufferPointer) -> Int? {
        frameCount(in: payload).map { $0 * frameDurationMicroseconds }
    }

    /// Samples at Opus's 48 kHz RTP clock, i.e. the expected RTP timestamp advance.
    public func samplesAt48kHz(in payload: UnsafeRawBufferPointer) -> Int? {
        packetDurationMicroseconds(in: payload).map { $0 * 48 / 1000 }
    }
}
