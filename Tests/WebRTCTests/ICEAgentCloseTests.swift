import Foundation
import Testing
import WebRTC
#if canImport(Glibc)
import Glibc
#endif

/// Holds an agent across worker jobs (only touched on its worker).
private final class AgentBox: @unchecked Sendable {
    var agent: ICEAgent?
}

/// Whether a UDP port on 127.0.0.1 is free (we can bind it ourselves).
private func udpPortIsFree(_ port: UInt16) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { Glibc.close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

@Suite struct ICEAgentCloseTests {
    /// `close()` gives the agent's UDP port back while the agent itself is still referenced (a
    /// closed connection can stay referenced for as long as its owner's signalling lingers: in
    /// issue #20's soak, participants whose clients held their WebSocket half-open kept their
    /// ports open after everyone left). Closing twice is harmless; the agent refuses work after.
    @Test func closeReleasesThePortWhileTheAgentIsStillReferenced() async throws {
        let worker = MediaWorker(name: "ice-close-test")
        let box = AgentBox()
        let port: UInt16 = try await worker.run {
            let agent = try ICEAgent(worker: worker, configuration: ICEConfiguration(
                controlling: false, localAddresses: ["127.0.0.1"], portRange: 47_310...47_329))
            try agent.gatherCandidates()
            box.agent = agent
            // "candidate:<foundation> 1 udp <priority> 127.0.0.1 <port> typ host"
            let fields = try #require(agent.localCandidates.first).split(separator: " ")
            return try #require(UInt16(fields[5]))
        }
        #expect(!udpPortIsFree(port))
        try await worker.run {
            box.agent?.close()
            box.agent?.close()
        }
        #expect(udpPortIsFree(port))
        let (closed, sent, added) = try await worker.run {
            let agent = try #require(box.agent)
            return (agent.isClosed, agent.send([1, 2, 3]),
                    try agent.addRemoteCandidate("candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"))
        }
        #expect(closed && !sent && !added)
        try await worker.run { box.agent = nil }
    }
}
