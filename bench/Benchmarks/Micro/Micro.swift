import Benchmark

/// Sluice's micro-benchmarks (issue #8): per-packet time and mallocs of the forwarding path's
/// pieces, the whole fan-out, and the machine's floor. Each benchmark runs 1000 packets per
/// iteration (`scalingFactor: .kilo`), so scaled figures are per packet.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 100_000)

    rtpBenchmarks()
    forwarderBenchmarks()
    srtpBenchmarks()
    fanOutBenchmarks()
    rtcpBenchmarks()
    floorBenchmarks()
}
