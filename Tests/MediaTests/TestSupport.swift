import Media

/// Deterministic generator for fuzz corpora, so a failing case reproduces from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SplitMix64 {
    mutating func bytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }

    /// Mutates a valid packet: flip bits, truncate, or overwrite a byte. Structure-aware corpora
    /// reach deeper code than pure noise.
    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var out = input
        switch Int.random(in: 0..<4, using: &self) {
        case 0 where !out.isEmpty:
            out.removeLast(Int.random(in: 1...out.count, using: &self))
        case 1 where !out.isEmpty:
            for _ in 0..<Int.random(in: 1...4, using: &self) {
                let i = Int.random(in: 0..<out.count, using: &self)
                out[i] ^= UInt8(1) << UInt8.random(in: 0...7, using: &self)
            }
        case 2 where !out.isEmpty:
            out[Int.random(in: 0..<out.count, using: &self)] = UInt8.random(in: 0...255, using: &self)
        default:
            out += bytes(count: Int.random(in: 0...8, using: &self))
        }
        return out
    }
}

func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { $0.isHexDigit }
    var out: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        out.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return out
}

/// Parses `bytes` as RTP and hands the view to `body` (views cannot outlive the buffer).
func withRTP<R>(_ bytes: [UInt8], _ body: (RTPPacket) throws -> R) throws -> R {
    try bytes.withUnsafeBytes { buffer in
        try body(try RTPPacket(buffer))
    }
}

func firstRTCPView<R>(_ bytes: [UInt8], _ body: (RTCPPacketView) throws -> R) throws -> R {
    try bytes.withUnsafeBytes { buffer in
        try body(try RTCPPacketView(first: buffer))
    }
}
