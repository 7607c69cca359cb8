import Dispatch
import Foundation
import WebRTC
#if canImport(Glibc)
import Glibc
#endif

// Churn mode (`sluice-load --churn`), the soak of issue #20: several rooms, one publisher and K
// subscribers each; every second one subscriber (rooms in turn) leaves and a new one joins the
// same room. The server's RSS, open fds, threads and CPU are sampled every few seconds; at the end
// everyone leaves and the fds and threads must come back to where they were before anyone came.

struct ChurnSettings: Sendable {
    var rooms = 10
    var subscribersPerRoom = 20
    var seconds = 600.0
    var sampleSeconds = 10.0
    /// One leave + one join this often (seconds).
    var churnInterval = 1.0
    /// After everyone left: how long the fds and threads may take to come back (rooms close after
    /// the config's `empty_timeout`, 10 s here).
    var drainSeconds = 60.0
}

/// One look at the server process.
struct ProcessSample: Codable, Sendable {
    /// Seconds since the churn started (negative: before anyone joined).
    var t: Double
    var rssMiB: Double
    var fds: Int
    var threads: Int
    /// Of `threads`, those of libdispatch's pool (the Swift concurrency global executor and
    /// Dispatch queues run on it): started on demand, up to about one per CPU per QoS, and
    /// ended by libdispatch after a few idle seconds, so their number moves without any work of
    /// ours starting or ending. The rest are the server's own (main, media workers, usrsctp,
    /// NIO), which must come back exactly.
    var poolThreads: Int
    /// Every thread by name (/proc/<pid>/task/*/comm), to say which one came or went.
    var threadNames: [String: Int]
    var ownThreads: Int { threads - poolThreads }
    /// CPU over the interval since the previous sample (100 = one core).
    var cpuPercent: Double
    /// Peers connected now (publishers + subscribers), joins and leaves so far.
    var peers: Int
    var joins: Int
    var leaves: Int
    /// Subscribers present for over 5 s that have received media, and those that have not.
    var subscribersReceiving: Int
    var subscribersSilent: Int

    static func take(_ server: ServerProcess, t: Double, lastCPU: inout (Double, Date), peers: Int, joins: Int, leaves: Int,
                     receiving: Int, silent: Int) -> ProcessSample {
        let cpu = server.cpuSeconds(), now = Date()
        let percent = (cpu - lastCPU.0) / max(0.001, now.timeIntervalSince(lastCPU.1)) * 100
        lastCPU = (cpu, now)
        let names = readThreadNames(pid: server.pid)
        let pool = names.filter { isDispatchPoolThread($0.key) }.reduce(0) { $0 + $1.value }
        return ProcessSample(t: t, rssMiB: server.rssMiB(), fds: openFiles(pid: server.pid),
                             threads: names.values.reduce(0, +), poolThreads: pool, threadNames: names, cpuPercent: percent, peers: peers, joins: joins, leaves: leaves,
                             subscribersReceiving: receiving, subscribersSilent: silent)
    }

    static func openFiles(pid: Int32) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count
    }

    static func readThreadNames(pid: Int32) -> [String: Int] {
        var names: [String: Int] = [:]
        for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? [] {
            let comm = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8)) ?? "?"
            names[comm.trimmingCharacters(in: .whitespacesAndNewlines), default: 0] += 1
        }
        return names
    }

    /// libdispatch names its pool threads after the root queue ("com.apple.root.default-qos",
    /// ".overcommit"); the kernel keeps 15 bytes of it ("oot.default-qos", "-qos.overcommit").
    static func isDispatchPoolThread(_ comm: String) -> Bool {
        comm.contains("qos") || comm.hasPrefix("com.apple")
    }
}

struct ChurnReport: Codable, Sendable {
    struct Checks: Codable, Sendable {
        /// RSS at the sample nearest minute 2 and at the last sample under load, and the growth.
        var rssMiBAtMinute2: Double
        var rssMiBAtEnd: Double
        var rssGrowthPercent: Double
        var rssGrowthUnder5Percent: Bool
        var fdsBaseline: Int
        var fdsAfterAllLeft: Int
        var threadsBaseline: Int
        var threadsAfterAllLeft: Int
        /// The server's own threads (all but libdispatch's pool), before and after.
        var ownThreadsBaseline: Int
        var ownThreadsAfterAllLeft: Int
        /// libdispatch's pool before and after (after may be fewer: idle ones end).
        var poolThreadsBaseline: Int
        var poolThreadsAfterAllLeft: Int
        /// Threads by name whose count differs between the baseline and the end (+ came, - went).
        var threadChanges: [String: Int]
        /// fds back to the baseline, the own threads exactly, the pool no larger than at the start.
        var fdsAndThreadsBackToBaseline: Bool
        /// Log records at warning level or above, by message, and how many of them are not the
        /// churn's normal leaves.
        var logWarningsAndErrors: [String: Int]
        var logProblems: Int
        var noLogProblems: Bool
        /// Notice-level records by message (not problems; e.g. rate-limited overload notices).
        var logNotices: [String: Int]
        var failedJoins: Int
        var subscribersNeverReceiving: Int
    }

    var machine: String
    var pinning: String
    var loadAverageStart: [Double]
    var loadAverageEnd: [Double]
    var rooms: Int
    var subscribersPerRoom: Int
    var seconds: Double
    var bitrate: Int
    var fps: Int
    var joins: Int
    var leaves: Int
    var setupSeconds: Double
    var baseline: ProcessSample
    var samples: [ProcessSample]
    var afterAllLeft: [ProcessSample]
    var checks: Checks
}

/// A peer of the churn: its signalling, its subscriber connection (and publisher), its worker.
private struct ChurnPeer {
    let participant: LiveKitParticipant
    let subscriber: LoadSubscriber
    let worker: MediaWorker
    let joinedAt: Date
}

private func churnLog(_ text: String) {
    FileHandle.standardError.write(Data("[sluice-load churn] \(text)\n".utf8))
}

/// Log messages that are the churn itself: participants leaving, their transports closing.
func isNormalLeave(_ message: String) -> Bool {
    let lowered = message.lowercased()
    return ["left", "leave", "disconnect", "closed", "departed"].contains { lowered.contains($0) }
}

func runChurn(settings: LoadSettings, churn: ChurnSettings, workers: LoadWorkers, scratch: URL, machine: String,
              pinning: String) throws -> ChurnReport {
    var loadStart = [Double](repeating: 0, count: 3)
    getloadavg(&loadStart, 3)
    let directory = scratch.appendingPathComponent("churn")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let port = Int.random(in: 20000...29999)
    let server = try startSluice(binary: settings.sluiceBinary, port: port, directory: directory, cpus: settings.serverCPUs,
                                 logLevel: "info", json: true, emptyTimeout: 10)
    defer { server.stop() }
    let key = "loadkey", secret = "loadsecret-loadsecret-loadsecret"
    Thread.sleep(forTimeInterval: 2)
    var lastCPU = (server.cpuSeconds(), Date())
    Thread.sleep(forTimeInterval: 1)
    let baseline = ProcessSample.take(server, t: -1, lastCPU: &lastCPU, peers: 0, joins: 0, leaves: 0, receiving: 0, silent: 0)
    churnLog("baseline: RSS \(String(format: "%.1f", baseline.rssMiB)) MiB, \(baseline.fds) fds, \(baseline.threads) threads")

    let stream = SyntheticVP8(bitrate: settings.bitrate, fps: settings.fps, keyframeSeconds: settings.keyframeSeconds)
    let setupStart = Date()
    var publishers: [(LoadPublisher, LiveKitParticipant, LoadSubscriber)] = []
    for room in 0..<churn.rooms {
        let pub = try onWorker(workers.publisher) {
            try LoadPublisher(worker: workers.publisher, certificate: workers.certificate, stream: stream, trackID: "TR_churn\(room)")
        }
        try onWorker(workers.publisher) { pub.onConnected = { [weak pub] in pub?.startSending() } }
        let own = try onWorker(workers.publisher) {
            try LoadSubscriber(worker: workers.publisher, certificate: workers.certificate, histogram: DelayHistogram())
        }
        let token = try LiveKitParticipant.token(room: "churn-\(room)", identity: "publisher", canPublish: true, key: key, secret: secret)
        let participant = try LiveKitParticipant(port: port, token: token, worker: workers.publisher, subscriber: own, publisher: pub)
        publishers.append((pub, participant, own))
    }
    try waitUntil("publishers sending", seconds: 30) {
        try onWorker(workers.publisher) { publishers.allSatisfy { $0.0.frame > 0 } }
    }

    // Subscribers: slots[room] in join order (the oldest leaves first).
    var joins = 0, leaves = 0, failedJoins = 0, serial = 0
    func join(room: Int) throws -> ChurnPeer {
        serial += 1
        let worker = workers.subscriberWorker(serial)
        let sub = try onWorker(worker) {
            try LoadSubscriber(worker: worker, certificate: workers.certificate, histogram: DelayHistogram())
        }
        let token = try LiveKitParticipant.token(room: "churn-\(room)", identity: "viewer-\(serial)", canPublish: false,
                                                 key: key, secret: secret)
        let participant = try LiveKitParticipant(port: port, token: token, worker: worker, subscriber: sub, publisher: nil)
        joins += 1
        return ChurnPeer(participant: participant, subscriber: sub, worker: worker, joinedAt: Date())
    }
    func leave(_ peer: ChurnPeer) {
        peer.participant.leave()
        _ = try? onWorker(peer.worker) { peer.subscriber.connection.close() }
        leaves += 1
    }
    var slots: [[ChurnPeer]] = Array(repeating: [], count: churn.rooms)
    for _ in 0..<churn.subscribersPerRoom {
        for room in 0..<churn.rooms {
            do { slots[room].append(try join(room: room)) } catch { failedJoins += 1 }
        }
    }
    let setupSeconds = Date().timeIntervalSince(setupStart)
    churnLog("\(joins) subscribers joined \(churn.rooms) rooms in \(String(format: "%.1f", setupSeconds)) s")
    let pinging = PingLoop(participants: publishers.map(\.1))
    defer { pinging.stop() }

    /// Subscribers older than 5 s: (receiving, silent).
    func receiving() -> (Int, Int) {
        var got = 0, silent = 0
        for peer in slots.joined() where Date().timeIntervalSince(peer.joinedAt) > 5 {
            let sub = peer.subscriber
            if (try? onWorker(peer.worker) { sub.receivedTotal > 0 }) == true { got += 1 } else { silent += 1 }
        }
        return (got, silent)
    }

    var samples: [ProcessSample] = []
    let start = Date()
    var nextSample = churn.sampleSeconds
    var nextChurn = churn.churnInterval
    var nextPing = 5.0
    var turn = 0
    while true {
        let t = Date().timeIntervalSince(start)
        if t >= churn.seconds { break }
        if t >= nextChurn {
            nextChurn += churn.churnInterval
            let room = turn % churn.rooms
            turn += 1
            if !slots[room].isEmpty { leave(slots[room].removeFirst()) }
            do { slots[room].append(try join(room: room)) } catch { failedJoins += 1 }
        }
        if t >= nextPing {
            // Subscribers come and go, so the churn loop pings whoever is there.
            nextPing += 5
            for peer in slots.joined() { peer.participant.ping() }
        }
        if t >= nextSample {
            nextSample += churn.sampleSeconds
            let (got, silent) = receiving()
            let sample = ProcessSample.take(server, t: t, lastCPU: &lastCPU, peers: churn.rooms + slots.joined().count,
                                            joins: joins, leaves: leaves, receiving: got, silent: silent)
            samples.append(sample)
            churnLog(String(format: "t=%3.0f s RSS %.1f MiB, %d fds, %d threads, CPU %.0f%%, %d peers, %d joins, %d leaves, receiving %d/%d",
                            t, sample.rssMiB, sample.fds, sample.threads, sample.cpuPercent, sample.peers, joins, leaves,
                            got, got + silent))
        }
        Thread.sleep(forTimeInterval: 0.02)
    }

    // Everyone leaves; then the fds and threads should return to the baseline.
    let neverReceived = receiving().1
    for room in slots.indices {
        for peer in slots[room] { leave(peer) }
        slots[room] = []
    }
    for (pub, participant, own) in publishers {
        participant.leave()
        _ = try? onWorker(workers.publisher) { pub.stop(); pub.connection.close(); own.connection.close() }
    }
    publishers = []
    /// fds and the server's own threads back where they were; libdispatch's pool no larger (it
    /// shrinks by itself when idle, so fewer is fine; more after a minute idle would be threads
    /// stuck in something).
    func backToBaseline(_ s: ProcessSample) -> Bool {
        s.fds <= baseline.fds && s.ownThreads == baseline.ownThreads && s.poolThreads <= baseline.poolThreads
    }
    var after: [ProcessSample] = []
    let leftAt = Date()
    while Date().timeIntervalSince(leftAt) < churn.drainSeconds {
        Thread.sleep(forTimeInterval: 5)
        let sample = ProcessSample.take(server, t: Date().timeIntervalSince(start), lastCPU: &lastCPU, peers: 0, joins: joins,
                                        leaves: leaves, receiving: 0, silent: 0)
        after.append(sample)
        churnLog("after all left, +\(Int(Date().timeIntervalSince(leftAt))) s: \(sample.fds) fds, \(sample.threads) threads (\(sample.poolThreads) dispatch pool), RSS \(String(format: "%.1f", sample.rssMiB)) MiB")
        if backToBaseline(sample) { break }
    }

    // The log: JSON lines; warnings and errors by message.
    var problems: [String: Int] = [:]
    var notices: [String: Int] = [:]
    var logProblems = 0
    let logText = (try? String(contentsOf: server.log, encoding: .utf8)) ?? ""
    for line in logText.split(separator: "\n") {
        guard let data = line.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            if !line.isEmpty { problems["(not JSON) " + String(line.prefix(120)), default: 0] += 1; logProblems += 1 }
            continue
        }
        let level = object["level"] as? String ?? ""
        let message = object["msg"] as? String ?? ""
        if level == "notice" { notices[message, default: 0] += 1 }
        guard ["warning", "error", "critical"].contains(level) else { continue }
        problems["\(level): \(message)", default: 0] += 1
        if !isNormalLeave(message) { logProblems += 1 }
    }

    // Minute 2 against the last sample under load.
    let atMinute2 = samples.min { abs($0.t - 120) < abs($1.t - 120) }
    let atEnd = samples.last
    let rss2 = atMinute2?.rssMiB ?? .nan, rssEnd = atEnd?.rssMiB ?? .nan
    let growth = (rssEnd - rss2) / rss2 * 100
    let final = after.last ?? baseline
    var loadEnd = [Double](repeating: 0, count: 3)
    getloadavg(&loadEnd, 3)
    let checks = ChurnReport.Checks(
        rssMiBAtMinute2: rss2, rssMiBAtEnd: rssEnd, rssGrowthPercent: growth, rssGrowthUnder5Percent: growth < 5,
        fdsBaseline: baseline.fds, fdsAfterAllLeft: final.fds, threadsBaseline: baseline.threads,
        threadsAfterAllLeft: final.threads, ownThreadsBaseline: baseline.ownThreads, ownThreadsAfterAllLeft: final.ownThreads,
        poolThreadsBaseline: baseline.poolThreads, poolThreadsAfterAllLeft: final.poolThreads,
        threadChanges: Dictionary(uniqueKeysWithValues: Set(baseline.threadNames.keys).union(final.threadNames.keys).compactMap { name in
            let d = (final.threadNames[name] ?? 0) - (baseline.threadNames[name] ?? 0)
            return d == 0 ? nil : (name, d)
        }),
        fdsAndThreadsBackToBaseline: backToBaseline(final),
        logWarningsAndErrors: problems, logProblems: logProblems, noLogProblems: logProblems == 0, logNotices: notices, failedJoins: failedJoins,
        subscribersNeverReceiving: neverReceived)
    if ProcessInfo.processInfo.environment["SLUICE_LOAD_KEEP"] != nil {
        churnLog("server log: \(server.log.path)")
    }
    return ChurnReport(machine: machine, pinning: pinning, loadAverageStart: loadStart, loadAverageEnd: loadEnd,
                       rooms: churn.rooms, subscribersPerRoom: churn.subscribersPerRoom, seconds: churn.seconds,
                       bitrate: settings.bitrate, fps: settings.fps, joins: joins, leaves: leaves, setupSeconds: setupSeconds,
                       baseline: baseline, samples: samples, afterAllLeft: after, checks: checks)
}

/// results/soak.md from the report.
func churnMarkdown(_ r: ChurnReport) -> String {
    func yes(_ ok: Bool) -> String { ok ? "pass" : "**FAIL**" }
    let c = r.checks
    let changes = c.threadChanges.isEmpty ? "" : " (" + c.threadChanges.sorted { $0.key < $1.key }
        .map { "\($0.value > 0 ? "+" : "")\($0.value) `\($0.key)`" }.joined(separator: ", ") + ")"
    var md = """
        # Soak: \(r.rooms) rooms x (1 publisher + \(r.subscribersPerRoom) subscribers), churning, \(Int(r.seconds / 60)) minutes

        `bench/soak.sh` (`sluice-load --churn`): every second one subscriber leaves (rooms in turn) and a
        new one joins the same room. Publishers send synthetic VP8 at \(r.bitrate / 1000) kbit/s, \(r.fps) fps.
        Machine: \(r.machine); \(r.pinning). Load average at the start \(r.loadAverageStart.map { String(format: "%.2f", $0) }.joined(separator: " ")),
        at the end \(r.loadAverageEnd.map { String(format: "%.2f", $0) }.joined(separator: " ")).
        Joins \(r.joins), leaves \(r.leaves), failed joins \(c.failedJoins); setup of the first \(r.rooms * (r.subscribersPerRoom + 1)) peers took \(String(format: "%.0f", r.setupSeconds)) s.

        ## Acceptance

        | check | figures | result |
        | --- | --- | --- |
        | RSS growth, minute 2 -> end, under 5% | \(String(format: "%.1f -> %.1f MiB (%+.2f%%)", c.rssMiBAtMinute2, c.rssMiBAtEnd, c.rssGrowthPercent)) | \(yes(c.rssGrowthUnder5Percent)) |
        | fds and threads back to the baseline after all left | fds \(c.fdsBaseline) -> \(c.fdsAfterAllLeft), threads \(c.threadsBaseline) -> \(c.threadsAfterAllLeft): own \(c.ownThreadsBaseline) -> \(c.ownThreadsAfterAllLeft), dispatch pool \(c.poolThreadsBaseline) -> \(c.poolThreadsAfterAllLeft)\(changes) | \(yes(c.fdsAndThreadsBackToBaseline)) |
        | no warnings/errors in the log but the churn's leaves | \(c.logProblems) other | \(yes(c.noLogProblems)) |
        | every subscriber receives | \(c.subscribersNeverReceiving) present over 5 s without media at the end | \(yes(c.subscribersNeverReceiving == 0)) |

        """
    if !c.logWarningsAndErrors.isEmpty {
        md += "\nLog records at warning and above (count, message; leaves are the churn's own):\n\n"
        for (message, count) in c.logWarningsAndErrors.sorted(by: { $0.value > $1.value }) {
            md += "- \(count) x `\(message)`\(isNormalLeave(message) ? " (a leave)" : "")\n"
        }
    }
    if !c.logNotices.isEmpty {
        md += "\nNotices (count, message; not counted as problems):\n\n"
        for (message, count) in c.logNotices.sorted(by: { $0.value > $1.value }) { md += "- \(count) x `\(message)`\n" }
    }
    md += "\nThreads at the baseline: " + r.baseline.threadNames.sorted { $0.key < $1.key }
        .map { "`\($0.key)`\($0.value > 1 ? " x \($0.value)" : "")" }.joined(separator: ", ")
        + ". The dispatch pool's threads (`...qos...`) are libdispatch's: started on demand and ended after a few idle seconds.\n"
    md += "\n## Samples (every 10 s)\n\n| t (s) | RSS MiB | fds | threads | of which dispatch pool | CPU % | peers | joins | leaves | receiving | silent |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    for s in [r.baseline] + r.samples + r.afterAllLeft {
        md += String(format: "| %.0f | %.1f | %d | %d | %d | %.0f | %d | %d | %d | %d | %d |\n", s.t, s.rssMiB, s.fds, s.threads,
                     s.poolThreads, s.cpuPercent, s.peers, s.joins, s.leaves, s.subscribersReceiving, s.subscribersSilent)
    }
    md += "\nThe first row is the baseline before anyone joined; rows after the end of the churn are after everyone left.\n"
    return md
}
