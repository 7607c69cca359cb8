import Testing
@testable import Media

@Suite struct ICECandidateTests {
    @Test(arguments: [
        "candidate:1467250027 1 udp 2122260223 192.168.1.23 58779 typ host generation 0 network-id 1 network-cost 10",
        "candidate:3853887652 1 udp 1686052607 203.0.113.7 58779 typ srflx raddr 192.168.1.23 rport 58779 generation 0 ufrag Fo2C network-id 1",
        "candidate:484398891 1 tcp 1518280447 192.168.1.23 9 typ host tcptype active generation 0 network-id 1",
        "candidate:842163049 1 udp 41885439 198.51.100.9 3478 typ relay raddr 203.0.113.7 rport 58779 generation 0",
        "candidate:7 2 UDP 1 2001:db8::1 5000 typ prflx",
    ])
    func roundTrips(text: String) throws {
        let candidate = try ICECandidate(parsing: text)
        #expect(candidate.description == text)
        #expect(try ICECandidate(parsing: "a=" + text) == candidate)
        #expect(try ICECandidate(parsing: text.dropFirst("candidate:".count)) == candidate)
    }

    @Test func fields() throws {
        let c = try ICECandidate(parsing: "candidate:3853887652 1 udp 1686052607 203.0.113.7 58779 typ srflx raddr 192.168.1.23 rport 58779 generation 0")
        #expect(c.foundation == "3853887652")
        #expect(c.component == 1)
        #expect(c.isUDP && !c.isTCP)
        #expect(c.priority == 1_686_052_607)
        #expect(c.address == "203.0.113.7")
        #expect(c.port == 58779)
        #expect(c.type == .srflx)
        #expect(c.relatedAddress == "192.168.1.23")
        #expect(c.relatedPort == 58779)
        #expect(c.extensions == [.init(name: "generation", value: "0")])
    }

    @Test(arguments: [
        "", "candidate:", "candidate:1 1 udp 1 1.2.3.4 9 host", "candidate:1 1 udp 1 1.2.3.4 9 typ",
        "candidate:1 x udp 1 1.2.3.4 9 typ host", "candidate:1 1 udp 99999999999 1.2.3.4 9 typ host",
        "candidate:1 1 udp 1 1.2.3.4 70000 typ host", "candidate:1 1 udp 1 1.2.3.4 9 typ host raddr",
        "candidate:1 1 udp 1 1.2.3.4 9 typ host rport x",
    ])
    func rejectsMalformed(text: String) {
        #expect(throws: SDPParseError.self) { try ICECandidate(parsing: text) }
    }

    @Test func priorityFormula() {
        #expect(ICECandidate.priority(typePreference: 126, localPreference: 65535, component: 1) == 2_130_706_431)
    }
}
