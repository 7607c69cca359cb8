import Foundation
import WebRTC
#if canImport(Glibc)
import Glibc
#endif

// sluice-load: one publisher and N subscribers over real WebRTC (ICE, DTLS, SRTP: Sluice's own
// WebRTC target in client mode) against Sluice (LiveKit signalling) and Janus (videoroom over its
// HTTP API), each started fresh for each N, plus the machine's floor; prints one table and writes
// results/load.json and results/load.md. Everything on 127.0.0.1, bounded in time and count.

private let usage = """
    usage: sluice-load [options]
      --servers sluice,janus       which servers, in order (default both)
      --subscribers 10,50,100,200  N values for the table
      --seconds 15                 measured window per row, cut into --windows sub-windows
      --windows 3                  CPU per packet = median of the sub-windows' figures
      --warmup 2                   seconds between every subscriber receiving and the window
      --settle 8                   then at most this much longer, until the subscribers' mean
                                   delay is under --settled-delay-ms (100): the join's backlog
                                   drained (a server that cannot keep up opens its window anyway)
      --batch-poll-us 2000         the subscribers' loops poll in batches this far apart, so the
                                   tool is not the bottleneck (adds at most this to delays)
      --pin / --no-pin             server on the last CPU, this tool on the others (default on
                                   with 2+ CPUs): they do not take turns on one core
      --bitrate 2500000 --fps 30 --keyframe-seconds 2
      --search / --no-search       also look for the largest N held (default on, bounded): under
                                   1% loss, delay settled, load tool under 95% of its core
      --budget 520                 seconds; the search stops when it would run past this
      --sluice PATH                sluice binary (default: next to this executable)
      --janus PATH                 janus binary (default /usr/bin/janus)
      --sluice-workers 1           Sluice's rtc.media_workers (one room's fan-out on this many
                                   cores once it spreads; see --spread-after)
      --spread-after 0             Sluice's rtc.spread_rooms_after (0: the room stays on one worker;
                                   neither key is written unless given, for older binaries)
      --server-cpus LIST           taskset -c list for the server instead of --pin's last CPU
                                   (e.g. 0,1 to give two workers both cores; the tool is then
                                   not pinned)
      --janus-event-loops 1        Janus's event_loops: shared loop threads for its handles, one
                                   per core it has (0: Janus's default, a thread per handle)
      --churn                      soak instead of the table (bench/soak.sh): --rooms rooms of one
                                   publisher + --subscribers (first value) subscribers each; every
                                   second one subscriber leaves and another joins; server RSS, fds,
                                   threads, CPU every --sample-seconds; writes results/soak.{json,md}
      --rooms 10 --minutes 10 --sample-seconds 10   (churn mode)
      --out DIR                    results directory (default: bench/results or ./results)
      --verbose
    """

@main
enum SluiceLoad {
    static func main() throws {
        var settings = LoadSettings()
        var servers: [ServerKind] = [.sluice, .janus]
        var sizes = [10, 50, 100, 200]
        var search = true
        var budget = 520.0
        var pin = ProcessInfo.processInfo.activeProcessorCount >= 2
        var outDirectory: String?
        var churn: ChurnSettings?
        var churnSettings = ChurnSettings()
        var serverCPUs: String?
        var arguments = Array(CommandLine.arguments.dropFirst())
        func value() -> String {
            guard !arguments.isEmpty else { print(usage); exit(2) }
            return arguments.removeFirst()
        }
        while let argument = arguments.first {
            arguments.removeFirst()
            switch argument {
            case "--servers": servers = value().split(separator: ",").compactMap { ServerKind(rawValue: String($0)) }
            case "--subscribers": sizes = value().split(separator: ",").compactMap { Int($0) }
            case "--seconds": settings.seconds = Double(value()) ?? 15
            case "--windows": settings.windows = max(1, Int(value()) ?? 3)
            case "--warmup": settings.warmupSeconds = Double(value()) ?? 2
            case "--settle": settings.settleSeconds = Double(value()) ?? 8
            case "--settled-delay-ms": settings.settledDelayMilliseconds = Double(value()) ?? 100
            case "--batch-poll-us": settings.batchPollMicroseconds = Int32(value()) ?? 2000
            case "--pin": pin = true
            case "--no-pin": pin = false
            case "--bitrate": settings.bitrate = Int(value()) ?? 2_500_000
            case "--fps": settings.fps = Int(value()) ?? 30
            case "--keyframe-seconds": settings.keyframeSeconds = Double(value()) ?? 2
            case "--search": search = true
            case "--no-search": search = false
            case "--budget": budget = Double(value()) ?? 520
            case "--sluice": settings.sluiceBinary = value()
            case "--janus": settings.janusBinary = value()
            case "--sluice-workers": settings.sluiceWorkers = max(1, Int(value()) ?? 1)
            case "--spread-after": settings.sluiceSpreadAfter = max(0, Int(value()) ?? 0)
            case "--server-cpus": serverCPUs = value()
            case "--janus-event-loops": settings.janusEventLoops = max(0, Int(value()) ?? 1)
            case "--churn": churn = churnSettings
            case "--rooms": churnSettings.rooms = max(1, Int(value()) ?? 10)
            case "--minutes": churnSettings.seconds = (Double(value()) ?? 10) * 60
            case "--sample-seconds": churnSettings.sampleSeconds = max(1, Double(value()) ?? 10)
            case "--out": outDirectory = value()
            case "--verbose": settings.verbose = true
            case "-h", "--help": print(usage); exit(0)
            default: print("unknown option \(argument)\n\(usage)"); exit(2)
            }
        }
        let executableDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        if settings.sluiceBinary.isEmpty { settings.sluiceBinary = executableDirectory.appendingPathComponent("sluice").path }
        if servers.contains(.sluice), !FileManager.default.isExecutableFile(atPath: settings.sluiceBinary) {
            print("no sluice binary at \(settings.sluiceBinary) (build it: swift build -c release --package-path bench --product sluice)")
            exit(2)
        }
        settings.janusPreload = executableDirectory.appendingPathComponent("libJanusLoopback.so").path
        if servers.contains(.janus), !FileManager.default.fileExists(atPath: settings.janusPreload) {
            print("no \(settings.janusPreload) (build it: swift build -c release --package-path bench --product JanusLoopback)")
            exit(2)
        }
        if servers.contains(.janus), !FileManager.default.isExecutableFile(atPath: settings.janusBinary) {
            print("no janus at \(settings.janusBinary) (apt-get install -y janus)")
            exit(2)
        }
        let out = URL(fileURLWithPath: outDirectory ?? (FileManager.default.fileExists(atPath: "bench/results") ? "bench/results" : "results"))
        try? FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sluice-load-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        signal(SIGPIPE, SIG_IGN)
        // The tool's own subscribers never fan out, so they read each datagram inside libnice's
        // callback (WebRTC's inline receive path) instead of through a receive queue, which
        // costs a copy, a loop wake-up and a dispatch per packet. The servers get the
        // environment this tool was started with.
        ServerProcess.baseEnvironment = ProcessInfo.processInfo.environment
        setenv("SLUICE_RECEIVE_INLINE", "1", 1)

        let started = Date()
        func elapsed() -> Double { Date().timeIntervalSince(started) }
        var loadAtStart = [Double](repeating: 0, count: 3)
        getloadavg(&loadAtStart, 3)
        let machine = Machine.describe()
        var pinning = "not pinned"
        if let serverCPUs {
            settings.serverCPUs = serverCPUs
            pinning = "server on CPUs \(serverCPUs), load tool not pinned"
        } else if pin {
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let toolCPUs = Array(0..<(cores - 1))
            settings.serverCPUs = "\(cores - 1)"
            if Machine.pinThisProcess(to: toolCPUs) {
                pinning = "server pinned to CPU \(cores - 1), load tool to CPU \(toolCPUs.map(String.init).joined(separator: ","))"
            } else {
                pinning = "server pinned to CPU \(cores - 1), load tool not pinned (sched_setaffinity failed)"
            }
        }
        func note(_ text: String) { FileHandle.standardError.write(Data("[sluice-load \(Int(elapsed()))s] \(text)\n".utf8)) }

        let serverCPU = settings.serverCPU
        let workers = try LoadWorkers(batchPollMicroseconds: settings.batchPollMicroseconds)
        if churn != nil {
            // Options may come in any order: the churn's settings as finally given.
            churnSettings.subscribersPerRoom = sizes.first ?? 20
            let report = try runChurn(settings: settings, churn: churnSettings, workers: workers, scratch: scratch,
                                      machine: machine, pinning: pinning)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: out.appendingPathComponent("soak.json"))
            let markdown = churnMarkdown(report)
            try markdown.write(to: out.appendingPathComponent("soak.md"), atomically: true, encoding: .utf8)
            print(markdown)
            workers.publisher.stop()
            for w in workers.subscribers { w.stop() }
            if ProcessInfo.processInfo.environment["SLUICE_LOAD_KEEP"] == nil { try? FileManager.default.removeItem(at: scratch) }
            let c = report.checks
            exit(c.rssGrowthUnder5Percent && c.fdsAndThreadsBackToBaseline && c.noLogProblems ? 0 : 1)
        }
        var rows: [LoadRow] = []
        var largest: [String: [String: Int?]] = [:]
        // The floor, both SRTP profiles, measured before each row on the CPU its server is about
        // to run on (5 passes each, their median). The floor rows and "x floor" use the median
        // over the run of these (a pass of a fraction of a second is noisier than the rows it
        // would divide; a measurement at the start alone moved 13-27% between runs).
        let profiles: [SRTPProfile] = [.aeadAes128Gcm, .aes128CmHmacSha1_80]
        var floorSamples: [SRTPProfile: [Double]] = [:]
        func measure(_ kind: ServerKind, _ n: Int) -> LoadRow {
            note("\(kind.rawValue): N=\(n)")
            var rowFloors: [String: Double] = [:]
            for profile in profiles {
                let packets = profile == .aeadAes128Gcm ? 10_000 : 4_000
                if let floor = try? measureFloor(profile: profile, packets: packets, repeats: 5, onCPU: serverCPU) {
                    floorSamples[profile, default: []].append(floor.cpuSecondsPer1000)
                    rowFloors["\(profile)"] = floor.cpuSecondsPer1000
                }
            }
            var row = runLoad(kind, subscribers: n, settings: settings, workers: workers, scratch: scratch)
            row.floorCPUSecondsPer1000Packets = rowFloors[row.srtpProfile]
            note(String(format: "%@ N=%d: %.0f pkt/s, loss %.2f%%, CPU %.3f s/1k, p50 %.2f ms, p99 %.2f ms",
                        kind.rawValue, n, row.packetsPerSecondForwarded, row.lossPercent, row.cpuSecondsPer1000Packets,
                        row.delayP50Milliseconds, row.delayP99Milliseconds))
            return row
        }
        // Held: under 1% loss, every subscriber receiving, and also the delay settled (a backlog
        // that never drains is not a server keeping up, whatever the loss over one window) and the
        // load tool under 95% of its core (there the row measures the tool, not the server).
        func passes(_ row: LoadRow) -> Bool {
            row.error == nil && row.lossPercent < 1 && row.subscribersReceiving == row.subscribers && row.settled
                && !(row.loadToolCPUPercent >= 95)
        }

        var perRun = 0.0  // seconds per row, measured
        for kind in servers {
            var table: [LoadRow] = []
            for n in sizes {
                let before = elapsed()
                let row = measure(kind, n)
                perRun = max(perRun, elapsed() - before)
                table.append(row)
            }
            rows += table
            // Largest N held (`passes`): the table's answer, refined by at most 5 more rows within budget.
            var good = table.filter(passes).map(\.subscribers).max() ?? 0
            var bad = table.filter { !passes($0) && $0.subscribers > good }.map(\.subscribers).min()
            if search {
                let remainingServers = Double(servers.count - 1 - servers.firstIndex(of: kind)!)
                // Bisect down to steps of 5% (at least 4 subscribers): coarser steps alone would
                // move the answer between runs by more than the 15% it is judged by.
                for _ in 0..<5 {
                    let reserve = remainingServers * Double(sizes.count) * perRun
                    guard elapsed() + perRun * 1.5 + reserve < budget else { break }
                    let next: Int
                    if let bad {
                        guard bad - good > max(4, good / 20) else { break }
                        next = (good + bad) / 2
                    } else {
                        next = good + max(10, good / 4)
                    }
                    let row = measure(kind, next)
                    rows.append(row)
                    if passes(row) { good = next } else { bad = next }
                }
            }
            largest[kind.rawValue] = ["largestUnderOnePercentLoss": good, "firstFailing": bad]
        }
        workers.publisher.stop()
        for w in workers.subscribers { w.stop() }
        if ProcessInfo.processInfo.environment["SLUICE_LOAD_KEEP"] == nil {
            try? FileManager.default.removeItem(at: scratch)
        } else {
            note("kept \(scratch.path) (server configs and logs)")
        }

        // Report.
        func fmt(_ v: Double, _ digits: Int = 2) -> String { v.isFinite ? String(format: "%.\(digits)f", v) : "-" }
        func profileName(_ p: String) -> String { p == "\(SRTPProfile.aeadAes128Gcm)" ? "GCM" : p == "?" ? "?" : "SHA1-80" }
        var lines: [String] = []
        // CPU per forwarded packet first: it is the figure that holds still from run to run
        // (seconds per 1k packets = milliseconds per packet; shown in microseconds).
        lines.append("| server | SRTP | subscribers | receiving | server CPU µs per forwarded packet | spread over windows % | x floor | floor µs | loss % | worst sub loss % | packets/s forwarded | server CPU % | steal % | busiest server thread % | load tool CPU % | RSS MiB | UDP rcvbuf drops | delay p50 ms | delay p99 ms | warm-up s |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        // Per profile: the median of the floors before each row, and their range.
        let floors: [(profile: SRTPProfile, median: Double, low: Double, high: Double, samples: Int)] = profiles.compactMap { profile in
            let sorted = (floorSamples[profile] ?? []).sorted()
            guard let low = sorted.first, let high = sorted.last else { return nil }
            return (profile, sorted[sorted.count / 2], low, high, sorted.count)
        }
        for i in rows.indices where rows[i].cpuSecondsPer1000Packets.isFinite {
            if let floor = floors.first(where: { "\($0.profile)" == rows[i].srtpProfile }) {
                rows[i].ratioToFloor = rows[i].cpuSecondsPer1000Packets / floor.median
            }
        }
        for floor in floors {
            let name = floor.profile == .aeadAes128Gcm ? "GCM" : "SHA1-80"
            lines.append("| floor: SRTP protect + sendmmsg (median of \(floor.samples), one before each row) | \(name) | - | - | \(fmt(floor.median * 1000, 2)) | \(fmt((floor.high - floor.low) / floor.median * 100, 0)) | 1.00 | \(fmt(floor.low * 1000, 2))-\(fmt(floor.high * 1000, 2)) | - | - | - | - | - | - | - | - | - | - | - | - |")
        }
        let sortedRows = rows.sorted { ($0.server == $1.server) ? $0.subscribers < $1.subscribers
            : (servers.firstIndex(of: ServerKind(rawValue: $0.server)!)! < servers.firstIndex(of: ServerKind(rawValue: $1.server)!)!) }
        for r in sortedRows {
            if let error = r.error {
                lines.append("| \(r.server) | \(profileName(r.srtpProfile)) | \(r.subscribers) | \(r.subscribersReceiving) | failed: \(error.replacingOccurrences(of: "|", with: "/")) | | | | | | | | | | | | | | | |")
                continue
            }
            lines.append("| \(r.server) | \(profileName(r.srtpProfile)) | \(r.subscribers) | \(r.subscribersReceiving) | **\(fmt(r.cpuSecondsPer1000Packets * 1000, 2))** | \(fmt(r.cpuSpreadPercent, 0)) | \(r.ratioToFloor.map { fmt($0) } ?? "-") | \(r.floorCPUSecondsPer1000Packets.map { fmt($0 * 1000) } ?? "-") | \(fmt(r.lossPercent)) | \(fmt(r.worstSubscriberLossPercent)) | \(fmt(r.packetsPerSecondForwarded, 0)) | \(fmt(r.serverCPUPercent, 0)) | \(fmt(r.serverCPUStealPercent, 1)) | \(fmt(r.serverBusiestThreadPercent, 0)) | \(fmt(r.loadToolCPUPercent, 0)) | \(fmt(r.rssMiB, 1)) | \(r.udpReceiveBufferDrops) | \(fmt(r.delayP50Milliseconds)) | \(fmt(r.delayP99Milliseconds)) | \(fmt(r.warmupSecondsUsed, 1))\(r.settled ? "" : " (did not settle)") |")
        }
        var summary: [String] = []
        for kind in servers {
            guard let entry = largest[kind.rawValue] else { continue }
            let good = (entry["largestUnderOnePercentLoss"] ?? nil) ?? 0
            let bad = entry["firstFailing"] ?? nil
            summary.append("- \(kind.rawValue): largest N held (under 1% loss, delay settled, load tool under 95%): \(good)"
                + (bad.map { " (\($0) did not hold)" } ?? " (no larger N tried failed)"))
        }
        let toolBound = sortedRows.filter { $0.error == nil && $0.loadToolCPUPercent >= 95 }
        if !toolBound.isEmpty {
            summary.append("- load tool at 95% of its core or more (its figures measure this machine as much as the server): "
                + toolBound.map { "\($0.server) N=\($0.subscribers)" }.joined(separator: ", "))
        }
        for r in sortedRows {
            if let silent = r.silentSubscribers { summary.append("- \(r.server) N=\(r.subscribers): never received: \(silent)") }
            if let starved = r.starvedSubscribers { summary.append("- \(r.server) N=\(r.subscribers): lost over half the window, transport state at its end: \(starved)") }
        }
        let stream = SyntheticVP8(bitrate: settings.bitrate, fps: settings.fps, keyframeSeconds: settings.keyframeSeconds)
        var load1 = [Double](repeating: 0, count: 3)
        getloadavg(&load1, 3)
        let header = String(format: "Load: 1 publisher, synthetic VP8 %.2f Mbps, %d fps, keyframe every %.0f s (%.0f packets/s); per row %.0f s warm-up, extended by up to %.0f s until the subscribers' delay is under %.0f ms, then a %.0f s window cut into %d (CPU per packet: their median); the subscribers poll in batches %d µs apart. Machine: %@; %@. Load average (1 min) %.1f at the start, %.1f at the end; run took %.0f s.",
                            Double(settings.bitrate) / 1e6, settings.fps, settings.keyframeSeconds, stream.packetsPerSecond,
                            settings.warmupSeconds, settings.settleSeconds, settings.settledDelayMilliseconds, settings.seconds,
                            settings.windows, Int(settings.batchPollMicroseconds), machine, pinning,
                            loadAtStart[0], load1[0], elapsed())
        let table = lines.joined(separator: "\n")
        print("\n" + header + "\n\n" + table + "\n\n" + summary.joined(separator: "\n"))

        let markdown = """
            # Forwarding load: Sluice vs Janus (latest run)

            Written by `bench/load.sh` (`sluice-load`) on \(ISO8601DateFormatter().string(from: Date())).

            \(header)

            \(table)

            \(summary.joined(separator: "\n"))

            Columns: server CPU µs per forwarded packet = utime+stime of the server process (/proc)
            over a sub-window divided by the probe packets the subscribers received in it, the median
            of the sub-windows (the run-to-run comparable figure); spread = (max - min) / median of the
            sub-windows' figures; x floor = CPU per packet over the floor's (one SRTP protect + one
            sendmmsg'd UDP send, same profile as the subscribers negotiated), the floor being the
            median of those measured on the server's CPU before each row (each row's own: floor
            µs); steal = the share of
            the server CPU's time the hypervisor gave to other guests during the window; warm-up =
            seconds from every subscriber receiving to the window (longer when the join's backlog
            took time to drain; "did not settle": the server never caught up); packets/s forwarded =
            probe packets the subscribers received in the window per second; server CPU % over the
            whole window; loss = 1 - received/(sent x N) by stream index; delay =
            probe send time at the publisher to SRTP-unprotected arrival at the subscriber (same clock).
            Busiest server thread: the largest utime+stime of one server thread over the window (100 =
            one core saturated); load tool CPU: this tool's own process over the window (it shares the
            machine's cores with the server). UDP rcvbuf drops: RcvbufErrors from /proc/net/snmp over
            the window, every socket of the machine (where loss comes from a full receive buffer,
            the server's or a subscriber's). Each row starts its server fresh.

            """
        try markdown.write(to: out.appendingPathComponent("load.md"), atomically: true, encoding: .utf8)

        struct Report: Codable {
            var date: String
            var settings: [String: Double]
            var cores: Int
            var machine: String
            var pinning: String
            var loadAverageAtStart: Double
            var loadAverageAtEnd: Double
            var durationSeconds: Double
            var floor: [[String: String]]
            var rows: [LoadRow]
            var largestUnderOnePercentLoss: [String: Int]
            var firstFailing: [String: Int]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let report = Report(
            date: ISO8601DateFormatter().string(from: Date()),
            settings: ["bitrate": Double(settings.bitrate), "fps": Double(settings.fps), "keyframeSeconds": settings.keyframeSeconds,
                       "windowSeconds": settings.seconds, "windows": Double(settings.windows),
                       "warmupSeconds": settings.warmupSeconds, "packetsPerSecond": stream.packetsPerSecond],
            cores: ProcessInfo.processInfo.activeProcessorCount, machine: machine, pinning: pinning,
            loadAverageAtStart: loadAtStart[0], loadAverageAtEnd: load1[0], durationSeconds: elapsed(),
            floor: floors.map { ["profile": "\($0.profile)", "cpuSecondsPer1000Packets": String(format: "%.6f", $0.median),
                                 "low": String(format: "%.6f", $0.low), "high": String(format: "%.6f", $0.high),
                                 "measurements": String($0.samples)] },
            rows: sortedRows,
            largestUnderOnePercentLoss: largest.compactMapValues { ($0["largestUnderOnePercentLoss"] ?? nil) },
            firstFailing: largest.compactMapValues { ($0["firstFailing"] ?? nil) })
        // The previous run stays as load.prev.json: load.sh compares the two (compare_load.py),
        // which is how run-to-run spread is reported.
        let latest = out.appendingPathComponent("load.json"), previous = out.appendingPathComponent("load.prev.json")
        if FileManager.default.fileExists(atPath: latest.path) {
            try? FileManager.default.removeItem(at: previous)
            try? FileManager.default.moveItem(at: latest, to: previous)
        }
        try encoder.encode(report).write(to: latest)
        note("wrote \(out.path)/load.md and load.json")
        exit(0)
    }
}
