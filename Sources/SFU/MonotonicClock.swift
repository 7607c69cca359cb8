#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic time in nanoseconds. Injected into the SFU so tests can drive throttles and timers.
public typealias MonotonicClock = @Sendable () -> UInt64

public enum SystemClock {
    /// CLOCK_MONOTONIC in nanoseconds.
    public static let monotonic: MonotonicClock = {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
