/// Extends an n-bit wrapping counter (RTP sequence number: 16 bits, RTP timestamp: 32, VP8 picture
/// id: 7 or 15, TL0PICIDX: 8, KEYIDX: 5) to a signed 64-bit value that never wraps.
///
/// A value is placed at the extended position closest to the highest value seen so far, so a
/// counter that moves forward by less than half its range between two packets, or arrives late by
/// less than half its range, is extended correctly. The first value seen extends to itself.
/// Late values extend below the highest (possibly below zero) without moving it.
public struct WrapAroundUnwrapper: Sendable, Equatable {
    /// The highest extended value recorded, nil before the first.
    public private(set) var highest: Int64?

    public init() {}

    /// The extended value of `value` (its low `bits` bits), relative to `highest`, without
    /// recording it.
    public func extend(_ value: UInt64, bits: Int) -> Int64 {
        let mask: UInt64 = bits >= 64 ? ~0 : (1 << UInt64(bits)) - 1
        let v = value & mask
        guard let highest else { return Int64(bitPattern: v) }
        let h = UInt64(bitPattern: highest) & mask
        var delta = Int64(bitPattern: (v &- h) & mask)
        if delta >= Int64(1) << Int64(bits - 1) { delta -= Int64(1) << Int64(bits) }
        return highest + delta
    }

    /// Extends `value` and records it when it is the new highest.
    @discardableResult
    public mutating func unwrap(_ value: UInt64, bits: Int) -> Int64 {
        let extended = extend(value, bits: bits)
        if highest.map({ extended > $0 }) ?? true { highest = extended }
        return extended
    }

    /// Forgets the history, e.g. when the counter now belongs to another stream.
    public mutating func reset() { highest = nil }
}
