import Testing
import WebRTC

/// Two raw associations on one worker; packets delivered on a later loop turn.
final class SCTPPair: SCTPAssociationDelegate, @unchecked Sendable {
    let a: SCTPAssociation
    let b: SCTPAssociation
    var receivedByB: [(stream: UInt16, ppid: UInt32, bytes: [UInt8])] = []
    var receivedByA: [(stream: UInt16, ppid: UInt32, bytes: [UInt8])] = []
    var resetSeenByB: [UInt16] = []
    var cut = false

    init(worker: MediaWorker, configuration: SCTPAssociation.Configuration = .init()) throws {
        a = try SCTPAssociation(worker: worker, configuration: configuration)
        b = try SCTPAssociation(worker: worker, configuration: configuration)
        a.delegate = self
        b.delegate = self
        a.output = { [unowned self] packet in
            guard !self.cut else { return }
            let copy = Array(packet)
            worker.execute { copy.withUnsafeBytes { self.b.handlePacket($0) } }
        }
        b.output = { [unowned self] packet in
            guard !self.cut else { return }
            let copy = Array(packet)
            worker.execute { copy.withUnsafeBytes { self.a.handlePacket($0) } }
        }
    }

    var connected: Bool { a.state == .connected && b.state == .connected }

    func sctpAssociation(_ association: SCTPAssociation, didChangeState state: SCTPAssociation.State) {}
    func sctpAssociation(_ association: SCTPAssociation, didReceive message: UnsafeRawBufferPointer,
                         streamID: UInt16, ppid: UInt32) {
        if association === b { receivedByB.append((streamID, ppid, Array(message))) }
        else { receivedByA.append((streamID, ppid, Array(message))) }
    }
    func sctpAssociation(_ association: SCTPAssociation, didResetIncomingStreams streams: [UInt16]) {
        if association === b { resetSeenByB += streams }
    }
}

@Suite(.serialized) struct SCTPAssociationTests {
    @Test func connectSendLargeAndReset() async throws {
        let worker = MediaWorker(name: "sctp-pair")
        let pair = try await worker.run { try SCTPPair(worker: worker) }
        try await worker.run { try pair.a.start(); try pair.b.start() }
        try await waitUntil("association up") { try await worker.run { pair.connected } }
        #expect(try await worker.run { pair.a.outboundStreams } == 1024)

        let max = pattern(262_144, seed: 1)
        try await worker.run {
            try pair.a.send([1, 2, 3], streamID: 4, ppid: 53)
            try pair.a.send(pattern(70_000), streamID: 4, ppid: 53)
            try pair.a.send(max, streamID: 6, ppid: 51, ordered: false, reliability: .maxRetransmits(3))
            try pair.b.send([9], streamID: 5, ppid: 57, reliability: .maxLifetime(milliseconds: 500))
        }
        // Too large, empty and out-of-range stream are refused up front.
        let errors = try await worker.run { () -> [SCTPError?] in
            func attempt(_ body: () throws -> Void) -> SCTPError? {
                do { try body(); return nil } catch { return error as? SCTPError }
            }
            return [
                attempt { try pair.a.send(pattern(262_145), streamID: 4, ppid: 53) },
                attempt { try pair.a.send([], streamID: 4, ppid: 53) },
                attempt { try pair.a.send([1], streamID: 1024, ppid: 53) },
            ]
        }
        #expect(errors == [.messageTooLarge(262_145), .emptyMessage, .invalidStream(1024)])
        try await waitUntil("delivered", seconds: 10) {
            try await worker.run { pair.receivedByB.count == 3 && pair.receivedByA.count == 1 }
        }
        let got = try await worker.run { pair.receivedByB.map { "\($0.stream)/\($0.ppid)/\($0.bytes.count)" } }
        #expect(got == ["4/53/3", "4/53/70000", "6/51/262144"])
        #expect(try await worker.run { pair.receivedByB[2].bytes == max })
        #expect(try await worker.run { pair.receivedByA.map(\.bytes) } == [[9]])

        try await worker.run { pair.a.resetStreams([4]) }
        try await waitUntil("reset seen") { try await worker.run { pair.resetSeenByB == [4] } }

        try await worker.run { pair.a.close() }
        try await waitUntil("peer sees abort") {
            try await worker.run { pair.b.state != .connected }
        }
        #expect(try await worker.run { pair.a.state } == .closed)
        try await worker.run { pair.b.close() }
        worker.stop()
    }

    /// More than the send buffer at once: messages queue, usrsctp takes some only in part, and
    /// every message still arrives whole, in order, with its own PPID.
    @Test func burstLargerThanSendBuffer() async throws {
        let worker = MediaWorker(name: "sctp-burst")
        let pair = try await worker.run { try SCTPPair(worker: worker) }
        try await worker.run { try pair.a.start(); try pair.b.start() }
        try await waitUntil("association up") { try await worker.run { pair.connected } }
        let messages: [[UInt8]] = (0..<12).map { i in pattern(i % 3 == 2 ? 5 : 250_000 + i, seed: UInt8(i)) }
        let buffered = try await worker.run {
            for (i, m) in messages.enumerated() { try pair.a.send(m, streamID: 0, ppid: i % 2 == 0 ? 53 : 51) }
            return pair.a.bufferedAmount
        }
        #expect(buffered > 0)  // 2 MB do not fit in the 1 MiB send buffer
        try await waitUntil("burst delivered", seconds: 20) {
            try await worker.run { pair.receivedByB.count == messages.count }
        }
        let ok = try await worker.run {
            pair.receivedByB.enumerated().allSatisfy { i, m in
                m.bytes == messages[i] && m.ppid == (i % 2 == 0 ? 53 : 51) && m.stream == 0
            }
        }
        #expect(ok)
        #expect(try await worker.run { pair.a.bufferedAmount } == 0)
        try await worker.run { pair.a.close(); pair.b.close() }
        worker.stop()
    }

    @Test func garbageNeverCrashes() async throws {
        let worker = MediaWorker(name: "sctp-garbage")
        let pair = try await worker.run { try SCTPPair(worker: worker) }
        var rng = SystemRandomNumberGenerator()
        // Before start, and after the association is up.
        let corpus: [[UInt8]] = (0..<400).map { i in
            let n = [0, 1, 11, 12, 16, 28, 100, 1200, 3000][i % 9]
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if n >= 12 && i % 2 == 0 {
                // Plausible common header (ports 5000/5000) with random chunks.
                bytes[0] = 0x13; bytes[1] = 0x88; bytes[2] = 0x13; bytes[3] = 0x88
            }
            return bytes
        }
        try await worker.run { for p in corpus { p.withUnsafeBytes { pair.a.handlePacket($0) } } }
        try await worker.run { try pair.a.start(); try pair.b.start() }
        try await waitUntil("association up") { try await worker.run { pair.connected } }
        try await worker.run { for p in corpus { p.withUnsafeBytes { pair.b.handlePacket($0) } } }
        try await worker.run { try pair.a.send(Array("after garbage".utf8), streamID: 0, ppid: 51) }
        try await waitUntil("still works") {
            try await worker.run { pair.receivedByB.last?.bytes == Array("after garbage".utf8) }
        }
        try await worker.run { pair.a.close(); pair.b.close() }
        worker.stop()
    }
}
