import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A server under test: a child process with its own temp directory, stopped by SIGTERM (then
/// SIGKILL), measured through /proc.
final class ServerProcess: @unchecked Sendable {
    let name: String
    let process = Process()
    let directory: URL
    let log: URL

    /// What servers start with: this tool's environment as it was given (the tool changes its
    /// own afterwards; see `SluiceLoad.main`).
    nonisolated(unsafe) static var baseEnvironment = ProcessInfo.processInfo.environment

    /// `cpus`: a `taskset -c` CPU list the server (all its threads) is confined to, so the load
    /// tool and the server do not take turns on the same core (nil: anywhere).
    init(name: String, executable: String, arguments: [String], directory: URL, environment: [String: String] = [:],
         cpus: String? = nil) throws {
        self.name = name
        self.directory = directory
        log = directory.appendingPathComponent("\(name).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        if let cpus {
            // taskset execs the server: same pid, so /proc measurements are the server's.
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", cpus, executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.environment = Self.baseEnvironment.merging(environment) { $1 }
        process.currentDirectoryURL = directory
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Waits until something accepts TCP connections on `port` (or the process died).
    func waitForPort(_ port: Int, seconds: Double = 15) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard process.isRunning else { throw LoadError("\(name) exited (status \(process.terminationStatus)); see \(log.path)") }
            if (try? TCPConnection(port: port, timeoutSeconds: 1)) != nil { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw LoadError("\(name) did not listen on \(port) within \(Int(seconds)) s; see \(log.path)")
    }

    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// utime + stime of every thread, in seconds.
    func cpuSeconds() -> Double { Self.cpuSeconds(pid: pid) }

    static func cpuSeconds(pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return .nan }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return .nan }
        return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// utime + stime in seconds of each thread (by tid).
    static func threadCPUSeconds(pid: Int32) -> [Int: Double] {
        var out: [Int: Double] = [:]
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
        for task in tasks {
            guard let tid = Int(task), let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
                  let close = text.lastIndex(of: ")") else { continue }
            let fields = text[text.index(after: close)...].split(separator: " ")
            guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { continue }
            out[tid] = (utime + stime) / tick
        }
        return out
    }

    /// The machine's UDP receive-buffer drops (RcvbufErrors in /proc/net/snmp; this network
    /// namespace, every socket: on a machine running only this test they are ours or the server's).
    static func udpReceiveBufferErrors() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/net/snmp", encoding: .utf8) else { return 0 }
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("Udp:") }
        guard lines.count >= 2 else { return 0 }
        let names = lines[0].split(separator: " "), values = lines[1].split(separator: " ")
        guard let at = names.firstIndex(of: "RcvbufErrors"), at < values.count else { return 0 }
        return Int(values[at]) ?? 0
    }

    /// Resident set size in MiB.
    func rssMiB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return .nan }
        return kb / 1024
    }
}

/// Writes Sluice's config (loopback, its own storage, quiet logs) and starts it.
func startSluice(binary: String, port: Int, directory: URL, cpus: String? = nil, logLevel: String = "warn", json: Bool = false,
                 emptyTimeout: Int = 60, mediaWorkers: Int? = nil, spreadRoomsAfter: Int? = nil) throws -> ServerProcess {
    // Written only when given: older binaries refuse keys they do not know.
    var rtcExtra = ""
    if let mediaWorkers { rtcExtra += "  media_workers: \(mediaWorkers)\n" }
    if let spreadRoomsAfter { rtcExtra += "  spread_rooms_after: \(spreadRoomsAfter)\n" }
    let config = """
        port: \(port)
        bind_addresses:
          - 127.0.0.1
        rtc:
          port_range_start: 42000
          port_range_end: 45999
          node_ip: ""
          use_external_ip: false
        \(rtcExtra)keys:
          loadkey: loadsecret-loadsecret-loadsecret
        room:
          empty_timeout: \(emptyTimeout)
          departure_timeout: 1
          max_participants: 0
          auto_create: true
        logging:
          level: \(logLevel)
          json: \(json)
        storage:
          path: \(directory.path)/sluice.sqlite
        recordings:
          path: \(directory.path)/recordings

        """
    let file = directory.appendingPathComponent("sluice.yaml")
    try config.write(to: file, atomically: true, encoding: .utf8)
    let server = try ServerProcess(name: "sluice", executable: binary, arguments: ["serve", "--config", file.path],
                                   directory: directory, cpus: cpus)
    try server.waitForPort(port)
    return server
}

/// Writes a Janus config dir (HTTP transport on 127.0.0.1 only, the videoroom plugin only, no
/// loggers or event handlers) and starts Janus in the foreground.
/// `eventLoops` > 0 makes Janus run its handles on that many shared loop threads (its
/// `event_loops` setting, sized to the CPUs it has) instead of one thread per handle.
func startJanus(binary: String, port: Int, directory: URL, preload: String, cpus: String? = nil,
                eventLoops: Int = 0) throws -> ServerProcess {
    let lib = "/usr/lib/x86_64-linux-gnu/janus"
    func others(_ folder: String, keep: String) -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(lib)/\(folder)")) ?? []
        return names.filter { $0.hasSuffix(".so") && $0 != keep }.sorted().joined(separator: ",")
    }
    let main = """
        general: {
            configs_folder = "\(directory.path)"
            plugins_folder = "\(lib)/plugins"
            transports_folder = "\(lib)/transports"
            events_folder = "\(lib)/events"
            loggers_folder = "\(lib)/loggers"
            debug_level = 2
            server_name = "sluice-load"
            session_timeout = 120
            hide_dependencies = true
        \(eventLoops > 0 ? "    event_loops = \(eventLoops)" : "")
        }
        certificates: {
        }
        media: {
            rtp_port_range = "46000-49999"
        }
        nat: {
            nice_debug = false
            ice_enforce_list = "lo"
        }
        plugins: {
            disable = "\(others("plugins", keep: "libjanus_videoroom.so"))"
        }
        transports: {
            disable = "\(others("transports", keep: "libjanus_http.so"))"
        }
        loggers: {
            disable = "\(others("loggers", keep: ""))"
        }
        events: {
            broadcast = false
        }

        """
    let http = """
        general: {
            json = "compact"
            base_path = "/janus"
            http = true
            port = \(port)
            ip = "127.0.0.1"
            https = false
        }
        admin: {
            admin_http = false
            admin_https = false
        }
        cors: {
        }

        """
    let videoroom = """
        general: {
        }

        """
    try main.write(to: directory.appendingPathComponent("janus.jcfg"), atomically: true, encoding: .utf8)
    try http.write(to: directory.appendingPathComponent("janus.transport.http.jcfg"), atomically: true, encoding: .utf8)
    try videoroom.write(to: directory.appendingPathComponent("janus.plugin.videoroom.jcfg"), atomically: true, encoding: .utf8)
    let server = try ServerProcess(name: "janus", executable: binary, arguments: [
        "-C", directory.appendingPathComponent("janus.jcfg").path, "-F", directory.path, "-o", "-i", "127.0.0.1",
    ], directory: directory, environment: ["LD_PRELOAD": preload], cpus: cpus)
    try server.waitForPort(port)
    return server
}
