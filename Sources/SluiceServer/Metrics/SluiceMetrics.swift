import MediaPlane
import Foundation
import Prometheus
import SFU
import Signal
import Synchronization
import WebRTC

/// Prometheus metrics, computed when scraped.
///
/// Nothing here runs per packet. Room and participant numbers are read from the control plane's
/// actors; media counters are the cumulative integers the forwarding path already keeps per
/// track, DownTrack and participant (`Room.traffic()`, one hop onto each room's executor per
/// scrape), turned into monotonic Prometheus counters by adding what grew since the last scrape.
/// A track that ends between two scrapes loses only what it did since the previous scrape.
///
/// Names and labels follow LiveKit's (pkg/telemetry/prometheus) where the metric means the same,
/// so its Grafana dashboards work; Sluice-only metrics are `sluice_*`.
final class SluiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let rooms: RoomManager
    private let media: MediaSessions
    private let egress: EgressManager
    private let webhooks: WebhookNotifier
    private let resumable: ResumableSessions
    private let drain: DrainState
    private let draining: Gauge

    private let roomTotal: Gauge
    private let participantTotal: Gauge
    private let participantsByKind: [String: Gauge]
    private let tracksPublished: [String: Gauge]
    private let packetTotal: [String: Counter]   // by direction/transmission
    private let packetBytes: [String: Counter]
    private let nackTotal: [String: Counter]     // by direction
    private let pliTotal: [String: Counter]
    private let forwardDrops: Counter
    private let receiveQueueDrops: Counter
    private let egressActive: [String: Gauge]
    private let egressEnded: [String: Counter]
    private let signalSessions: Gauge
    private let signalParked: Gauge
    private let signalResumes: [String: Counter]
    private let webhookDelivered: Counter
    private let webhookFailed: Counter
    private let webhookDropped: Counter
    private let cpuSeconds: Counter
    private let residentBytes: Gauge
    private let virtualBytes: Gauge
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let startTime: Gauge

    /// Cumulative values seen at the last scrape, by owner key ("t:", "d:", "p:" and a few
    /// process-wide ones), so counters only ever grow by what is new.
    private let seen = Mutex<[String: RoomTraffic.Counts]>([:])
    private let seenScalars = Mutex<[String: Double]>([:])

    init(rooms: RoomManager, media: MediaSessions, egress: EgressManager, webhooks: WebhookNotifier,
         resumable: ResumableSessions, drain: DrainState) {
        self.rooms = rooms
        self.drain = drain
        self.resumable = resumable
        self.media = media
        self.egress = egress
        self.webhooks = webhooks
        let r = registry
        func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
            r.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
        }
        func counter(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Counter {
            r.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
        }
        roomTotal = gauge("livekit_room_total", "Open rooms.")
        participantTotal = gauge("livekit_participant_total", "Participants in open rooms, hidden ones included.")
        var byKind: [String: Gauge] = [:]
        for kind in ["livekit", "whip", "whep", "hidden"] {
            byKind[kind] = gauge("sluice_participants", "Participants in open rooms by kind: LiveKit clients (visible), WHIP publishers, WHEP viewers, hidden LiveKit clients.", [("kind", kind)])
        }
        participantsByKind = byKind
        tracksPublished = Dictionary(uniqueKeysWithValues: ["audio", "video"].map {
            ($0, gauge("livekit_track_published_total", "Tracks being published.", [("kind", $0)]))
        })
        var packets: [String: Counter] = [:], bytes: [String: Counter] = [:]
        for (direction, transmission) in [("incoming", "initial"), ("outgoing", "initial"), ("outgoing", "retransmit")] {
            let labels = [("direction", direction), ("transmission", transmission)]
            packets["\(direction)/\(transmission)"] = counter("livekit_packet_total", "RTP packets received from publishers (incoming) and sent to subscribers (outgoing).", labels)
            if transmission == "initial" {
                bytes["\(direction)/\(transmission)"] = counter("livekit_packet_bytes", "RTP bytes received (whole packets) and sent (payload).", labels)
            }
        }
        packetTotal = packets
        packetBytes = bytes
        nackTotal = Dictionary(uniqueKeysWithValues: ["incoming", "outgoing"].map {
            ($0, counter("livekit_nack_total", "NACKs received from subscribers (incoming, per lost-packet item) and sent to publishers (outgoing).", [("direction", $0)]))
        })
        pliTotal = Dictionary(uniqueKeysWithValues: ["incoming", "outgoing"].map {
            ($0, counter("livekit_pli_total", "Keyframe requests (PLI/FIR) received from subscribers (incoming) and PLIs sent to publishers (outgoing).", [("direction", $0)]))
        })
        forwardDrops = counter("sluice_forward_drop_total", "Packets the forwarder dropped for a subscriber (not counting those skipped while waiting for a keyframe).")
        receiveQueueDrops = counter("sluice_receive_queue_drop_total", "RTP packets from publishers dropped before forwarding: their receive queue was full because the room's worker fell behind (CPU starved or stalled).")
        egressActive = Dictionary(uniqueKeysWithValues: ["egressStarting", "egressActive", "egressEnding"].map {
            ($0, gauge("sluice_egress_active", "Recordings in progress by status.", [("status", $0)]))
        })
        egressEnded = Dictionary(uniqueKeysWithValues: ["egressComplete", "egressFailed"].map {
            ($0, counter("sluice_egress_ended_total", "Recordings ended since start, by final status.", [("status", $0)]))
        })
        signalSessions = gauge("sluice_signal_sessions", "LiveKit signalling sessions (WebSocket clients, hidden ones included) in open rooms.")
        signalParked = gauge("sluice_signal_sessions_parked", "Sessions whose WebSocket dropped, waiting for the client to resume.")
        signalResumes = Dictionary(uniqueKeysWithValues: ["resumed", "expired"].map {
            ($0, counter("sluice_signal_resume_total", "Dropped sessions by outcome: resumed by their client, or ended when the window passed.", [("result", $0)]))
        })
        draining = gauge("sluice_draining", "1 while the server drains after SIGTERM (new rooms and joins refused), else 0.")
        webhookDelivered = counter("sluice_webhook_delivered_total", "Webhook events delivered (2xx).")
        webhookFailed = counter("sluice_webhook_failed_attempts_total", "Webhook delivery attempts refused or unreachable.")
        webhookDropped = counter("sluice_webhook_dropped_total", "Webhook events given up: pushed out of a full queue, or undelivered after retrying.")
        cpuSeconds = counter("process_cpu_seconds_total", "User and system CPU time spent, in seconds.")
        residentBytes = gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
        virtualBytes = gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.")
        openFDs = gauge("process_open_fds", "Open file descriptors.")
        maxFDs = gauge("process_max_fds", "Soft limit of open file descriptors.")
        startTime = gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.")
        if let start = ProcessStats.startTimeSeconds() { startTime.set(start) }
    }

    /// Updates every metric from the live state and returns the text exposition.
    func scrape() async -> [UInt8] {
        let census = await rooms.census()
        let sample = await media.metricsSample()
        let egressCounts = await egress.liveStatusCounts
        let delivered = await webhooks.delivered
        let failed = await webhooks.failedAttempts
        let dropped = await webhooks.dropped
        let egressEndedCounts = await egress.endedByStatus
        let parked = await resumable.parkedCount
        let resumed = await resumable.resumed
        let expired = await resumable.expired

        roomTotal.set(Double(census.rooms))
        participantTotal.set(Double(census.participants))
        // WHIP/WHEP sessions are room members too (WHIPMembership): the rest are LiveKit clients.
        let livekit = max(0, census.participants - census.hidden - sample.whip - sample.whep)
        participantsByKind["livekit"]?.set(Double(livekit))
        participantsByKind["whip"]?.set(Double(sample.whip))
        participantsByKind["whep"]?.set(Double(sample.whep))
        participantsByKind["hidden"]?.set(Double(census.hidden))
        signalSessions.set(Double(livekit + census.hidden))
        signalParked.set(Double(parked))
        draining.set(drain.isDraining ? 1.0 : 0.0)
        tracksPublished["audio"]?.set(Double(sample.traffic.reduce(0) { $0 + $1.publishedAudioTracks }))
        tracksPublished["video"]?.set(Double(sample.traffic.reduce(0) { $0 + $1.publishedVideoTracks }))
        for (status, gauge) in egressActive { gauge.set(Double(egressCounts[status] ?? 0)) }

        let growth = seen.withLock { last -> RoomTraffic.Counts in
            var growth = RoomTraffic.Counts()
            for traffic in sample.traffic {
                for (key, now) in traffic.counters {
                    let before = last[key] ?? RoomTraffic.Counts()
                    growth.add(now.grown(since: before))
                    last[key] = now.latest(with: before)
                }
            }
            // Forget owners gone from every room, so the table does not grow forever.
            let live = Set(sample.traffic.flatMap { $0.counters.keys })
            last = last.filter { live.contains($0.key) }
            return growth
        }
        packetTotal["incoming/initial"]?.increment(by: Int64(growth.packetsIn))
        packetBytes["incoming/initial"]?.increment(by: Int64(growth.bytesIn))
        packetTotal["outgoing/initial"]?.increment(by: Int64(growth.packetsOut))
        packetBytes["outgoing/initial"]?.increment(by: Int64(growth.bytesOut))
        packetTotal["outgoing/retransmit"]?.increment(by: Int64(growth.retransmits))
        nackTotal["incoming"]?.increment(by: Int64(growth.nacksIn))
        nackTotal["outgoing"]?.increment(by: Int64(growth.nacksOut))
        pliTotal["incoming"]?.increment(by: Int64(growth.plisIn))
        pliTotal["outgoing"]?.increment(by: Int64(growth.plisOut))
        forwardDrops.increment(by: Int64(growth.forwardDrops))

        let process = ProcessStats.read()
        seenScalars.withLock { last in
            func grow(_ key: String, _ value: Double, _ counter: Counter) {
                let before = last[key] ?? 0
                if value > before { counter.increment(by: value - before); last[key] = value }
            }
            grow("webhook.delivered", Double(delivered), webhookDelivered)
            grow("webhook.failed", Double(failed), webhookFailed)
            grow("webhook.dropped", Double(dropped), webhookDropped)
            for (status, counter) in egressEnded { grow("egress.\(status)", Double(egressEndedCounts[status] ?? 0), counter) }
            grow("resume.resumed", Double(resumed), signalResumes["resumed"]!)
            grow("resume.expired", Double(expired), signalResumes["expired"]!)
            grow("receiveQueue.dropped", Double(PeerTransport.receiveQueueDropsTotal), receiveQueueDrops)
            if let cpu = process.cpuSeconds { grow("cpu", cpu, cpuSeconds) }
        }
        if let rss = process.residentBytes { residentBytes.set(rss) }
        if let vsz = process.virtualBytes { virtualBytes.set(vsz) }
        if let fds = process.openFDs { openFDs.set(Double(fds)) }
        if let limit = ResourceLimits.openFileLimit() { maxFDs.set(Double(limit.soft)) }

        return registry.emitToBuffer()
    }
}

extension RoomTraffic.Counts {
    /// What grew since `before`, field by field. A counter seen lower than before (two
    /// overlapping scrapes applied out of order) adds nothing rather than counting twice.
    func grown(since before: Self) -> Self {
        var d = Self()
        d.packetsIn = Swift.max(0, packetsIn - before.packetsIn)
        d.bytesIn = Swift.max(0, bytesIn - before.bytesIn)
        d.packetsOut = Swift.max(0, packetsOut - before.packetsOut)
        d.bytesOut = Swift.max(0, bytesOut - before.bytesOut)
        d.retransmits = Swift.max(0, retransmits - before.retransmits)
        d.forwardDrops = Swift.max(0, forwardDrops - before.forwardDrops)
        d.nacksIn = Swift.max(0, nacksIn - before.nacksIn)
        d.nacksOut = Swift.max(0, nacksOut - before.nacksOut)
        d.plisIn = Swift.max(0, plisIn - before.plisIn)
        d.plisOut = Swift.max(0, plisOut - before.plisOut)
        return d
    }

    /// The field-wise maximum: the high-water mark already counted.
    func latest(with before: Self) -> Self {
        var m = self
        m.packetsIn = Swift.max(packetsIn, before.packetsIn)
        m.bytesIn = Swift.max(bytesIn, before.bytesIn)
        m.packetsOut = Swift.max(packetsOut, before.packetsOut)
        m.bytesOut = Swift.max(bytesOut, before.bytesOut)
        m.retransmits = Swift.max(retransmits, before.retransmits)
        m.forwardDrops = Swift.max(forwardDrops, before.forwardDrops)
        m.nacksIn = Swift.max(nacksIn, before.nacksIn)
        m.nacksOut = Swift.max(nacksOut, before.nacksOut)
        m.plisIn = Swift.max(plisIn, before.plisIn)
        m.plisOut = Swift.max(plisOut, before.plisOut)
        return m
    }

    mutating func add(_ o: Self) {
        packetsIn += o.packetsIn; bytesIn += o.bytesIn
        packetsOut += o.packetsOut; bytesOut += o.bytesOut
        retransmits += o.retransmits; forwardDrops += o.forwardDrops
        nacksIn += o.nacksIn; nacksOut += o.nacksOut
        plisIn += o.plisIn; plisOut += o.plisOut
    }
}

/// The process's own numbers from /proc/self (Linux), as Prometheus' process collector names them.
enum ProcessStats {
    struct Sample {
        var cpuSeconds: Double?
        var residentBytes: Double?
        var virtualBytes: Double?
        var openFDs: Int?
    }

    /// Clock ticks per second for /proc's utime/stime (sysconf(_SC_CLK_TCK), 100 on Linux).
    static let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    static let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))

    static func read() -> Sample {
        var sample = Sample()
        if let fields = statFields() {
            // Fields after "(comm)": utime and stime are the 14th/15th of stat (11/12 here),
            // vsize the 23rd (20), rss in pages the 24th (21).
            if fields.count > 21 {
                if let u = Double(fields[11]), let s = Double(fields[12]) { sample.cpuSeconds = (u + s) / ticks }
                sample.virtualBytes = Double(fields[20])
                if let pages = Double(fields[21]) { sample.residentBytes = pages * pageSize }
            }
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            sample.openFDs = max(0, entries.count - 1)  // less the descriptor reading the directory
        }
        return sample
    }

    static func startTimeSeconds() -> Double? {
        guard let fields = statFields(), fields.count > 19, let ticksSinceBoot = Double(fields[19]),
              let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let boot = Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        else { return nil }
        return boot + ticksSinceBoot / ticks
    }

    /// /proc/self/stat from the field after the command name (which may hold spaces), split on
    /// spaces: index 0 is the state (stat's 3rd field).
    private static func statFields() -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }
}
