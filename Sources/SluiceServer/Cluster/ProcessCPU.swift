#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// This process's CPU use between two readings, as a share of one core.
struct ProcessCPU {
    private var lastCPU = Self.cpuSeconds()
    private var lastWall = Date()

    mutating func sample() -> Double {
        let cpu = Self.cpuSeconds(), wall = Date()
        let elapsed = wall.timeIntervalSince(lastWall)
        defer { lastCPU = cpu; lastWall = wall }
        guard elapsed > 0 else { return 0 }
        return max(0, cpu - lastCPU) / elapsed
    }

    private static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)  // Glibc imports RUSAGE_SELF as an enum case
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
