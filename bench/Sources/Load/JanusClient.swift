import Foundation

/// Janus's HTTP API (videoroom plugin) on loopback: one session, a long-poll thread that files
/// events by handle, and blocking request helpers for the driver's threads.
final class JanusAPI: @unchecked Sendable {
    let port: Int
    private(set) var session = 0
    private let condition = NSCondition()
    private var events: [Int: [[String: Any]]] = [:]
    private var stopped = false

    init(port: Int) throws {
        self.port = port
        let created = try post("/janus", ["janus": "create"])
        guard let data = created["data"] as? [String: Any], let id = data["id"] as? Int else {
            throw LoadError("janus create: \(created)")
        }
        session = id
        let thread = Thread { [self] in poll() }
        thread.start()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    @discardableResult
    func post(_ path: String, _ body: [String: Any]) throws -> [String: Any] {
        var body = body
        body["transaction"] = String(UInt64.random(in: 1...UInt64.max), radix: 36)
        let bytes = [UInt8](try JSONSerialization.data(withJSONObject: body))
        let (status, reply) = try httpRequest(port: port, method: "POST", path: path, body: bytes)
        guard status == 200, let json = try JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any] else {
            throw LoadError("janus POST \(path): HTTP \(status) \(String(decoding: reply, as: UTF8.self))")
        }
        if json["janus"] as? String == "error" { throw LoadError("janus error: \(json["error"] ?? json)") }
        return json
    }

    func attach() throws -> Int {
        let reply = try post("/janus/\(session)", ["janus": "attach", "plugin": "janus.plugin.videoroom"])
        guard let data = reply["data"] as? [String: Any], let id = data["id"] as? Int else { throw LoadError("attach: \(reply)") }
        return id
    }

    /// A plugin message; returns the synchronous reply ("success" with plugindata, or "ack").
    @discardableResult
    func message(_ handle: Int, _ body: [String: Any], jsep: [String: Any]? = nil) throws -> [String: Any] {
        var request: [String: Any] = ["janus": "message", "body": body]
        if let jsep { request["jsep"] = jsep }
        let reply = try post("/janus/\(session)/\(handle)", request)
        if let data = (reply["plugindata"] as? [String: Any])?["data"] as? [String: Any], let error = data["error"] {
            throw LoadError("videoroom: \(error)")
        }
        return reply
    }

    func trickleCompleted(_ handle: Int) throws {
        try post("/janus/\(session)/\(handle)", ["janus": "trickle", "candidate": ["completed": true]])
    }

    /// Waits for an event of `handle` that `matches`, dropping the others before it.
    func waitEvent(_ handle: Int, seconds: Double = 20, _ matches: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while true {
            while var queue = events[handle], !queue.isEmpty {
                let event = queue.removeFirst()
                events[handle] = queue
                if let data = (event["plugindata"] as? [String: Any])?["data"] as? [String: Any], let error = data["error"] {
                    throw LoadError("videoroom event: \(error)")
                }
                if matches(event) { return event }
            }
            if stopped || !condition.wait(until: deadline) { throw LoadError("janus: no awaited event for handle \(handle)") }
        }
    }

    private func poll() {
        while true {
            condition.lock()
            let done = stopped
            condition.unlock()
            if done { return }
            guard let (status, body) = try? httpRequest(port: port, method: "GET", path: "/janus/\(session)?maxev=50", timeoutSeconds: 40),
                  status == 200, let json = try? JSONSerialization.jsonObject(with: Data(body)) else {
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            let list = (json as? [[String: Any]]) ?? [(json as? [String: Any]) ?? [:]]
            condition.lock()
            for event in list {
                guard let sender = event["sender"] as? Int else { continue }
                events[sender, default: []].append(event)
            }
            condition.broadcast()
            condition.unlock()
        }
    }
}
