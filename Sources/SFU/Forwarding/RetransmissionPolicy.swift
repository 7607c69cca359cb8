/// When a NACKed packet is worth sending again.
///
/// A viewer's receiver NACKs a missing packet again every round trip until it arrives. On a
/// congested downlink the round trip grows with the queue while the receiver's estimate of it
/// lags, so it asks several times for what is already on its way; answering each ask filled a
/// 600 kbit/s link with 2.5 retransmissions per forwarded packet (test_downlink: 13 888 RTX for
/// 5 449 packets), starving the audio and the viewer's own signalling. So a packet goes out
/// again at most `maxResends` times, not twice within `minInterval`, and not once it is older
/// than `maxAge`: by then the receiver's jitter buffer has moved on and will ask for a keyframe.
public enum RetransmissionPolicy {
    public static let maxResends: UInt8 = 3
    public static let minIntervalMs: UInt32 = 100
    public static let maxAgeMs: UInt32 = 1_000

    /// Milliseconds of a nanosecond clock, wrapping (differences stay right for 49 days).
    @inline(__always)
    public static func milliseconds(_ nanoseconds: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: nanoseconds / 1_000_000)
    }

    @inline(__always)
    public static func shouldResend(resends: UInt8, sentAtMs: UInt32, resentAtMs: UInt32, nowMs: UInt32) -> Bool {
        guard resends < maxResends, nowMs &- sentAtMs <= maxAgeMs else { return false }
        return resends == 0 || nowMs &- resentAtMs >= minIntervalMs
    }
}
