/// Which datagram counters have been accepted recently: a 64-wide sliding bitmap behind the
/// highest counter seen (the way SRTP and IPsec do it). UDP may reorder a little, so older counters
/// inside the window are still accepted once; anything seen before or older than the window is
/// refused, so a captured datagram cannot be played into the link again.
public struct ReplayWindow: Sendable {
    public static let width: UInt64 = 64
    private var highest: UInt64 = 0
    private var seen: UInt64 = 0

    public init() {}

    /// Whether `counter` is new and inside the window (does not record it: only a datagram that
    /// also authenticates may move the window).
    public func accepts(_ counter: UInt64) -> Bool {
        if counter == 0 { return false }
        if counter > highest { return true }
        let age = highest - counter
        if age >= Self.width { return false }
        return seen & (1 << age) == 0
    }

    /// Records an authenticated `counter`.
    public mutating func record(_ counter: UInt64) {
        if counter > highest {
            let shift = counter - highest
            seen = shift >= Self.width ? 0 : seen << shift
            seen |= 1
            highest = counter
        } else {
            seen |= 1 << (highest - counter)
        }
    }
}
