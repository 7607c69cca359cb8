import CBenchUDP
import Dispatch
import Foundation
import WebRTC

/// Runs `body` on `worker` and waits for it (call from a thread that is not a worker).
func onWorker<T>(_ worker: MediaWorker, _ body: @escaping () throws -> T) throws -> T {
    let semaphore = DispatchSemaphore(value: 0)
    nonisolated(unsafe) let body = body
    nonisolated(unsafe) var result: Result<T, any Error>?
    worker.execute {
        result = Result { try body() }
        semaphore.signal()
    }
    semaphore.wait()
    return try result!.get()
}

enum ServerKind: String, CaseIterable, Sendable {
    case sluice, janus
}

struct LoadSettings: Sendable {
    var bitrate = 2_500_000
    var fps = 30
    var keyframeSeconds = 2.0
    /// Measured per row, cut into `windows` equal sub-windows: CPU per packet is the median of
    /// the sub-windows' figures (robust to a burst of other work on the machine), loss and delay
    /// are over the whole window.
    var seconds = 15.0
    var windows = 3
    /// Once every subscriber receives, this long before the window opens (rates and caches settle).
    var warmupSeconds = 2.0
    /// Then up to this much longer, until the subscribers' mean delay over half a second is under
    /// `settledDelayMilliseconds` (median over subscribers): joining N subscribers leaves a backlog
    /// (handshakes, keyframe requests) that a server near its limit drains slowly, and a window
    /// opened while it drains measures the join, not the steady state. A server that cannot keep
    /// up never settles; its window opens anyway and the row says so.
    var settleSeconds = 8.0
    var settledDelayMilliseconds = 100.0
    /// The subscribers' loops poll in batches this far apart (see CBenchUDP/batched_poll.c), so
    /// the tool is not the bottleneck; it adds at most this much to every delay figure.
    var batchPollMicroseconds: Int32 = 2000
    /// CPUs the server runs on (taskset -c list), nil = anywhere.
    var serverCPUs: String?
    /// The server's CPU when it is pinned to a single one (for per-CPU figures: floor, steal).
    var serverCPU: Int? { serverCPUs.flatMap { Int($0) } }
    var sluiceBinary = ""
    /// Sluice's media workers and the room size from which it spreads a room over them (nil:
    /// not in its config, for binaries older than those keys; then one room uses one worker).
    var sluiceWorkers: Int?
    var sluiceSpreadAfter: Int?
    var janusBinary = "/usr/bin/janus"
    /// libJanusLoopback.so (see Sources/CJanusLoopback).
    var janusPreload = ""
    /// Janus's `event_loops` (0: its default, a thread per handle).
    var janusEventLoops = 1
    var verbose = false
}

/// One measured row: one server, N subscribers, one window.
struct LoadRow: Codable, Sendable {
    var server: String
    var subscribers: Int
    var subscribersReceiving: Int
    var windowSeconds: Double
    var packetsSentInWindow: Int
    var packetsForwarded: Int
    var packetsPerSecondForwarded: Double
    var serverCPUSeconds: Double
    /// The median over the sub-windows.
    var cpuSecondsPer1000Packets: Double
    /// Each sub-window's CPU seconds per 1k packets forwarded.
    var cpuSecondsPer1000PacketsByWindow: [Double] = []
    /// (max - min) / median of the sub-windows' figures, in percent: the row's own noise.
    var cpuSpreadPercent: Double = .nan
    var serverCPUPercent: Double
    /// The server's busiest thread over the window (100 = one core).
    var serverBusiestThreadPercent: Double
    /// This load tool's own CPU over the window (publisher + N subscribers, 100 = one core).
    var loadToolCPUPercent: Double
    /// UDP datagrams dropped for a full socket receive buffer during the window (system-wide).
    var udpReceiveBufferDrops: Int
    var rssMiB: Double
    var lossPercent: Double
    var worstSubscriberLossPercent: Double
    var delayP50Milliseconds: Double
    var delayP99Milliseconds: Double
    var ratioToFloor: Double?
    /// The floor measured on the server's CPU just before this row (same profile as the row).
    var floorCPUSecondsPer1000Packets: Double?
    /// Warm-up actually spent (the fixed part plus waiting to settle), and whether it settled.
    var warmupSecondsUsed: Double = .nan
    var settled: Bool = false
    /// Of the server CPU's time over the window, the share the hypervisor gave another guest.
    var serverCPUStealPercent: Double = .nan
    var srtpProfile: String
    var setupSeconds: Double
    /// Subscribers that never received, by transport state and signalling failure.
    var silentSubscribers: String?
    /// Subscribers that lost over half the window, by their transport state at its end.
    var starvedSubscribers: String?
    var error: String?
}

private func log(_ text: String) {
    FileHandle.standardError.write(Data("[sluice-load] \(text)\n".utf8))
}

/// The load tool's own threads: the publisher's worker and two for subscribers.
final class LoadWorkers: @unchecked Sendable {
    let publisher = MediaWorker(name: "load-pub")
    let subscribers = [MediaWorker(name: "load-sub-0"), MediaWorker(name: "load-sub-1")]
    let certificate: DTLSCertificate

    init(batchPollMicroseconds: Int32) throws {
        certificate = try DTLSCertificate(commonName: "sluice-load")
        if batchPollMicroseconds > 0 {
            for worker in subscribers { _ = sluice_bench_batch_polls(UnsafeMutableRawPointer(worker.context), batchPollMicroseconds) }
        }
    }

    func subscriberWorker(_ index: Int) -> MediaWorker { subscribers[index % subscribers.count] }
}

/// One server, one N: starts the server fresh, connects the publisher and N subscribers, measures
/// one window of `settings.seconds`, stops the server.
func runLoad(_ kind: ServerKind, subscribers n: Int, settings: LoadSettings, workers: LoadWorkers, scratch: URL) -> LoadRow {
    let directory = scratch.appendingPathComponent("\(kind.rawValue)-\(n)-\(UInt32.random(in: 0...UInt32.max))")
    try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let stream = SyntheticVP8(bitrate: settings.bitrate, fps: settings.fps, keyframeSeconds: settings.keyframeSeconds)
    var row = LoadRow(server: kind.rawValue, subscribers: n, subscribersReceiving: 0, windowSeconds: 0, packetsSentInWindow: 0,
                      packetsForwarded: 0, packetsPerSecondForwarded: 0, serverCPUSeconds: 0, cpuSecondsPer1000Packets: .nan,
                      serverCPUPercent: 0, serverBusiestThreadPercent: .nan, loadToolCPUPercent: .nan, udpReceiveBufferDrops: 0, rssMiB: .nan, lossPercent: 100, worstSubscriberLossPercent: 100,
                      delayP50Milliseconds: .nan, delayP99Milliseconds: .nan, ratioToFloor: nil, srtpProfile: "?",
                      setupSeconds: 0, silentSubscribers: nil, starvedSubscribers: nil, error: nil)
    let port = Int.random(in: 20000...29999)
    var server: ServerProcess?
    let histograms = workers.subscribers.map { _ in DelayHistogram() }
    var publisher: LoadPublisher?
    var subs: [LoadSubscriber?] = Array(repeating: nil, count: n)
    var participants: [LiveKitParticipant?] = Array(repeating: nil, count: n + 1)
    var janus: JanusAPI?
    let setupStart = Date()
    defer {
        // Close everything, then release each object on its own worker (libnice agents must be
        // dropped on their loop).
        for p in participants { p?.close() }
        janus?.stop()
        let bags = workers.subscribers.map { _ in Bag() }
        let publisherBag = Bag()
        for (i, sub) in subs.enumerated() { if let sub { bags[i % bags.count].items.append(sub) } }
        for (i, p) in participants.enumerated() {
            guard let p else { continue }
            (i < n ? bags[i % bags.count] : publisherBag).items.append(p)
        }
        if let publisher { publisherBag.items.append(publisher) }
        subs = []
        participants = []
        publisher = nil
        for (bag, worker) in zip(bags + [publisherBag], workers.subscribers + [workers.publisher]) {
            _ = try? onWorker(worker) {
                for item in bag.items {
                    if let s = item as? LoadSubscriber { s.connection.close() }
                    if let p = item as? LoadPublisher { p.stop(); p.connection.close() }
                    if let p = item as? LiveKitParticipant { p.subscriber.connection.close() }
                }
                bag.items = []
            }
        }
        server?.stop()
    }
    do {
        // Server.
        switch kind {
        case .sluice: server = try startSluice(binary: settings.sluiceBinary, port: port, directory: directory,
                                               cpus: settings.serverCPUs, mediaWorkers: settings.sluiceWorkers,
                                               spreadRoomsAfter: settings.sluiceSpreadAfter)
        case .janus: server = try startJanus(binary: settings.janusBinary, port: port, directory: directory,
                                             preload: settings.janusPreload, cpus: settings.serverCPUs,
                                             eventLoops: settings.janusEventLoops)
        }
        guard let server else { throw LoadError("no server") }

        // Publisher.
        let pub = try onWorker(workers.publisher) {
            try LoadPublisher(worker: workers.publisher, certificate: workers.certificate, stream: stream, trackID: "TR_loadvp8")
        }
        publisher = pub
        try onWorker(workers.publisher) { pub.onConnected = { [weak pub] in pub?.startSending() } }
        let room = "load-\(n)"
        var janusRoom = 0
        var janusFeed = 0
        switch kind {
        case .sluice:
            let token = try LiveKitParticipant.token(room: room, identity: "publisher", canPublish: true, key: "loadkey",
                                                     secret: "loadsecret-loadsecret-loadsecret")
            let own = try onWorker(workers.publisher) {
                try LoadSubscriber(worker: workers.publisher, certificate: workers.certificate, histogram: DelayHistogram())
            }
            participants[n] = try LiveKitParticipant(port: port, token: token, worker: workers.publisher, subscriber: own, publisher: pub)
        case .janus:
            let api = try JanusAPI(port: port)
            janus = api
            let handle = try api.attach()
            janusRoom = Int.random(in: 1000...999_999)
            try api.message(handle, ["request": "create", "room": janusRoom, "publishers": 1, "videocodec": "vp8",
                                     "bitrate": 0, "fir_freq": 0, "notify_joining": false])
            try api.message(handle, ["request": "join", "ptype": "publisher", "room": janusRoom, "display": "publisher"])
            let joined = try api.waitEvent(handle) { event in
                ((event["plugindata"] as? [String: Any])?["data"] as? [String: Any])?["videoroom"] as? String == "joined"
            }
            guard let id = ((joined["plugindata"] as? [String: Any])?["data"] as? [String: Any])?["id"] as? Int else {
                throw LoadError("janus joined without an id: \(joined)")
            }
            janusFeed = id
            try waitGathered(pub.connection, worker: workers.publisher)
            let offer = try onWorker(workers.publisher) { try pub.makeOffer() }
            try api.message(handle, ["request": "publish", "audio": false, "video": true, "data": false],
                            jsep: ["type": "offer", "sdp": offer])
            let answered = try api.waitEvent(handle) { $0["jsep"] != nil }
            guard let sdp = (answered["jsep"] as? [String: Any])?["sdp"] as? String else { throw LoadError("janus answer without sdp") }
            if settings.verbose { log("janus publisher offer:\n\(offer)\njanus answer:\n\(sdp)") }
            try onWorker(workers.publisher) { try pub.setAnswer(sdp) }
            try? api.trickleCompleted(handle)
        }
        try waitUntil("publisher sending", seconds: 15) { try onWorker(workers.publisher) { pub.frame > 0 } }

        // Subscribers, a few lanes at a time.
        let lanes = 4
        let setup = SetupState(count: n)
        let (api, janusRoomID, janusFeedID) = (janus, janusRoom, janusFeed)
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            for i in stride(from: lane, to: n, by: lanes) {
                do {
                    let worker = workers.subscriberWorker(i)
                    let histogram = histograms[i % histograms.count]
                    let sub = try onWorker(worker) {
                        try LoadSubscriber(worker: worker, certificate: workers.certificate, histogram: histogram)
                    }
                    setup.set(subscriber: sub, at: i)
                    switch kind {
                    case .sluice:
                        let token = try LiveKitParticipant.token(room: room, identity: "sub-\(i)", canPublish: false, key: "loadkey",
                                                                 secret: "loadsecret-loadsecret-loadsecret")
                        let participant = try LiveKitParticipant(port: port, token: token, worker: worker, subscriber: sub, publisher: nil)
                        setup.set(participant: participant, at: i)
                    case .janus:
                        guard let api else { return }
                        let handle = try api.attach()
                        try api.message(handle, ["request": "join", "ptype": "subscriber", "room": janusRoomID, "feed": janusFeedID])
                        let offered = try api.waitEvent(handle) { $0["jsep"] != nil }
                        guard let sdp = (offered["jsep"] as? [String: Any])?["sdp"] as? String else { throw LoadError("janus offer without sdp") }
                        try waitGathered(sub.connection, worker: worker)
                        let answer = try onWorker(worker) { try sub.answer(sdp) }
                        try api.message(handle, ["request": "start", "room": janusRoomID], jsep: ["type": "answer", "sdp": answer])
                        try? api.trickleCompleted(handle)
                    }
                } catch {
                    setup.fail(error)
                }
            }
        }
        for i in 0..<n {
            subs[i] = setup.subscribers[i]
            participants[i] = setup.participants[i]
        }
        let setupError = setup.error
        if let setupError { throw setupError }

        /// Runs `body` on each subscriber worker with the subscribers it owns (subscriber i lives
        /// on worker i mod count); the results in worker order.
        func onEachWorker<T>(_ body: @escaping ([LoadSubscriber]) -> T) throws -> [T] {
            try workers.subscribers.enumerated().map { w, worker in
                let mine = subs.enumerated().compactMap { $0.offset % workers.subscribers.count == w ? $0.element : nil }
                return try onWorker(worker) { body(mine) }
            }
        }

        // Pings keep LiveKit sessions alive (every 5 s).
        let pinging = PingLoop(participants: participants.compactMap { $0 })
        defer { pinging.stop() }

        // Everyone receives?
        func receivingCount() throws -> Int {
            try onEachWorker { list in list.filter { $0.receivedTotal > 0 }.count }.reduce(0, +)
        }
        let deadline = Date().addingTimeInterval(20 + Double(n) * 0.05)
        while try receivingCount() < n, Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        row.subscribersReceiving = try receivingCount()
        row.setupSeconds = Date().timeIntervalSince(setupStart)
        if row.subscribersReceiving < n {
            // Why: each silent subscriber's transport state and signalling failure, tallied.
            var tally: [String: Int] = [:]
            for (i, sub) in subs.enumerated() {
                guard let sub else { tally["not created", default: 0] += 1; continue }
                nonisolated(unsafe) let participant = i < participants.count ? participants[i] : nil
                let why = try onWorker(sub.worker) { () -> String? in
                    guard sub.receivedTotal == 0 else { return nil }
                    return "transport \(sub.connection.state)" + (participant?.failure.map { ", \($0)" } ?? "")
                        + (participant.map { $0.joined ? "" : ", no join" } ?? "")
                }
                if let why { tally[why, default: 0] += 1 }
            }
            row.silentSubscribers = tally.map { "\($0.value) x \($0.key)" }.sorted().joined(separator: "; ")
            log("\(kind.rawValue) N=\(n): only \(row.subscribersReceiving) subscribers receive: \(row.silentSubscribers ?? "")")
        }
        let profiles = try onWorker(workers.subscriberWorker(0)) { subs.first??.srtpProfile }
        row.srtpProfile = profiles.map { "\($0)" } ?? "?"

        // Warm-up: the fixed part, then until the subscribers' delay settles (see LoadSettings).
        func recentDelay() throws -> Double? {
            let delays = try onEachWorker { list in list.compactMap { $0.takeRecentDelay() } }.joined().sorted()
            return delays.isEmpty ? nil : delays[delays.count / 2]
        }
        let warmupStart = Date()
        Thread.sleep(forTimeInterval: max(0.5, settings.warmupSeconds))
        _ = try recentDelay()
        while Date().timeIntervalSince(warmupStart) < settings.warmupSeconds + settings.settleSeconds {
            Thread.sleep(forTimeInterval: 0.5)
            if let delay = try recentDelay(), delay < settings.settledDelayMilliseconds {
                row.settled = true
                break
            }
        }
        row.warmupSecondsUsed = Date().timeIntervalSince(warmupStart)
        if !row.settled {
            log("\(kind.rawValue) N=\(n): the subscribers' delay did not settle under \(settings.settledDelayMilliseconds) ms in \(Int(row.warmupSecondsUsed)) s")
        }

        // The window: `seconds` long from half a second from now, cut into `windows`
        // sub-windows, in frames (so in packet indexes).
        let now = try onWorker(workers.publisher) { pub.frame }
        let windows = max(1, settings.windows)
        let framesPerWindow = max(1, Int(settings.seconds * Double(settings.fps)) / windows)
        let startFrame = now + max(1, settings.fps / 2)
        let boundaryFrames = (0...windows).map { startFrame + $0 * framesPerWindow }
        let endFrame = boundaryFrames.last!
        let bounds = boundaryFrames.map { UInt32(stream.firstIndex(ofFrame: $0)) }
        let low = bounds.first!, high = bounds.last!
        _ = try onEachWorker { list in for s in list { s.setWindows(bounds) } }
        let done = DispatchSemaphore(value: 0)
        // CPU of the server at each boundary (the sub-windows' CPU per packet).
        nonisolated(unsafe) var cpuAt = [Double](repeating: 0, count: windows + 1)
        nonisolated(unsafe) var cpu0 = 0.0, cpu1 = 0.0, t0: UInt64 = 0, t1: UInt64 = 0
        nonisolated(unsafe) var threads0: [Int: Double] = [:], threads1: [Int: Double] = [:], own0 = 0.0, own1 = 0.0
        nonisolated(unsafe) var drops0 = 0, drops1 = 0
        nonisolated(unsafe) var jiffies0 = (total: Double.nan, steal: Double.nan), jiffies1 = jiffies0
        let serverCPU = settings.serverCPU
        let pid = server.pid
        let me = getpid()
        try onWorker(workers.publisher) {
            pub.marks[startFrame] = {
                t0 = monotonicNanoseconds(); cpu0 = ServerProcess.cpuSeconds(pid: pid)
                own0 = ServerProcess.cpuSeconds(pid: me); threads0 = ServerProcess.threadCPUSeconds(pid: pid)
                drops0 = ServerProcess.udpReceiveBufferErrors()
                if let serverCPU { jiffies0 = Machine.cpuJiffies(serverCPU) }
                cpuAt[0] = cpu0
            }
            for k in 1..<windows {
                pub.marks[boundaryFrames[k]] = { cpuAt[k] = ServerProcess.cpuSeconds(pid: pid) }
            }
            pub.marks[endFrame] = {
                t1 = monotonicNanoseconds(); cpu1 = ServerProcess.cpuSeconds(pid: pid)
                own1 = ServerProcess.cpuSeconds(pid: me); threads1 = ServerProcess.threadCPUSeconds(pid: pid)
                drops1 = ServerProcess.udpReceiveBufferErrors()
                if let serverCPU { jiffies1 = Machine.cpuJiffies(serverCPU) }
                cpuAt[windows] = cpu1
                done.signal()
            }
        }
        if done.wait(timeout: .now() + settings.seconds + 10) == .timedOut {
            throw LoadError("the window never ended")
        }
        row.rssMiB = server.rssMiB()
        // Collect, once the window's late packets have landed: counts settle (unchanged over
        // 0.5 s) or 4 s pass. Late packets count as delivered; their delay is in the histogram.
        func windowCounts() throws -> [Int] {
            Array(try onEachWorker { list in list.map(\.receivedInWindow) }.joined())
        }
        func perWindowCounts() throws -> [Int] {
            var totals = [Int](repeating: 0, count: windows)
            for s in try onEachWorker({ list in list.map(\.receivedPerWindow) }).joined() {
                for (k, c) in s.enumerated() where k < windows { totals[k] += c }
            }
            return totals
        }
        var counts = try windowCounts()
        let settleDeadline = Date().addingTimeInterval(4)
        while Date() < settleDeadline {
            Thread.sleep(forTimeInterval: 0.5)
            let next = try windowCounts()
            if next == counts { break }
            counts = next
        }
        // Subscribers that lost most of the window: their transport state at the end.
        let expectedInWindow = Int(high - low)
        var starved: [String: Int] = [:]
        let starvedStates = try onEachWorker { list in
            list.filter { $0.receivedInWindow * 2 < expectedInWindow }.map { "\($0.connection.state)" }
        }
        for state in starvedStates.joined() { starved[state, default: 0] += 1 }
        if !starved.isEmpty {
            row.starvedSubscribers = starved.map { "\($0.value) x \($0.key)" }.sorted().joined(separator: "; ")
            log("\(kind.rawValue) N=\(n): subscribers that lost over half the window, by end state: \(row.starvedSubscribers ?? "")")
        }
        let merged = DelayHistogram()
        for (w, worker) in workers.subscribers.enumerated() {
            let h = histograms[w]
            try onWorker(worker) { merged.merge(h) }
        }
        let expected = Int(high - low)
        let forwarded = counts.reduce(0, +)
        let window = Double(t1 - t0) / 1e9
        row.windowSeconds = window
        row.packetsSentInWindow = expected
        row.packetsForwarded = forwarded
        row.packetsPerSecondForwarded = Double(forwarded) / window
        row.serverCPUSeconds = cpu1 - cpu0
        row.serverCPUPercent = (cpu1 - cpu0) / window * 100
        row.serverBusiestThreadPercent = threads1.map { $0.value - (threads0[$0.key] ?? 0) }.max().map { $0 / window * 100 } ?? .nan
        row.loadToolCPUPercent = (own1 - own0) / window * 100
        row.udpReceiveBufferDrops = drops1 - drops0
        if jiffies1.total > jiffies0.total { row.serverCPUStealPercent = (jiffies1.steal - jiffies0.steal) / (jiffies1.total - jiffies0.total) * 100 }
        let byWindow = try perWindowCounts()
        row.cpuSecondsPer1000PacketsByWindow = (0..<windows).map { k in
            byWindow[k] > 0 ? (cpuAt[k + 1] - cpuAt[k]) / Double(byWindow[k]) * 1000 : .nan
        }
        let finite = row.cpuSecondsPer1000PacketsByWindow.filter(\.isFinite).sorted()
        if finite.isEmpty {
            row.cpuSecondsPer1000Packets = .nan
        } else {
            let median = finite.count % 2 == 1 ? finite[finite.count / 2]
                : (finite[finite.count / 2 - 1] + finite[finite.count / 2]) / 2
            row.cpuSecondsPer1000Packets = median
            row.cpuSpreadPercent = median > 0 ? (finite.last! - finite.first!) / median * 100 : .nan
        }
        let capped = counts.map { min($0, expected) }
        row.lossPercent = 100 * (1 - Double(capped.reduce(0, +)) / Double(max(1, expected * n)))
        row.worstSubscriberLossPercent = 100 * (1 - Double(capped.min() ?? 0) / Double(max(1, expected)))
        row.delayP50Milliseconds = merged.quantile(0.50)
        row.delayP99Milliseconds = merged.quantile(0.99)
        if settings.verbose {
            let got = try onEachWorker { list in list.map { [$0.receivedTotal, $0.receivedOtherRTP, $0.receivedRTCP] } }.joined()
            let total = got.map { $0[0] }.reduce(0, +), other = got.map { $0[1] }.reduce(0, +), rtcp = got.map { $0[2] }.reduce(0, +)
            log("\(kind.rawValue) N=\(n): sent \(expected), forwarded \(forwarded), send failures \(pub.sendFailures); "
                + "since joining, subscribers got \(total) probe packets, \(other) other RTP, \(rtcp) RTCP")
        }
    } catch {
        row.error = "\(error)"
        log("\(kind.rawValue) N=\(n) failed: \(error)")
    }
    return row
}

func waitGathered(_ connection: PeerConnection, worker: MediaWorker) throws {
    try waitUntil("ICE gathering", seconds: 10) { try onWorker(worker) { connection.isGatheringDone } }
}

func waitUntil(_ what: String, seconds: Double, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while try !condition() {
        guard Date() < deadline else { throw LoadError("timed out waiting for \(what)") }
        Thread.sleep(forTimeInterval: 0.02)
    }
}

/// Sends `ping_req` on every LiveKit signalling socket every 5 s until stopped.
final class PingLoop: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false

    init(participants: [LiveKitParticipant]) {
        guard !participants.isEmpty else { return }
        let thread = Thread { [self] in
            condition.lock()
            while !stopped {
                _ = condition.wait(until: Date().addingTimeInterval(5))
                if stopped { break }
                condition.unlock()
                for p in participants { p.ping() }
                condition.lock()
            }
            condition.unlock()
        }
        thread.start()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Objects handed to a worker to be closed and released there.
final class Bag: @unchecked Sendable {
    var items: [AnyObject] = []
}

/// What the setup lanes create, filed under a lock.
final class SetupState: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var subscribers: [LoadSubscriber?]
    private(set) var participants: [LiveKitParticipant?]
    private(set) var error: (any Error)?

    init(count: Int) {
        subscribers = Array(repeating: nil, count: count)
        participants = Array(repeating: nil, count: count)
    }

    func set(subscriber: LoadSubscriber, at index: Int) { lock.withLock { subscribers[index] = subscriber } }
    func set(participant: LiveKitParticipant, at index: Int) { lock.withLock { participants[index] = participant } }
    func fail(_ error: any Error) { lock.withLock { if self.error == nil { self.error = error } } }
}
