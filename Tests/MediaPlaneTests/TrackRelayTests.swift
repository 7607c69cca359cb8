import Foundation
import Media
import MediaPlane
import SFU
import Synchronization
import Testing
import WebRTC

/// Records what is sent through it, from any thread.
private final class SharedRecordingTransport: MediaTransport, @unchecked Sendable {
    let rtp = Mutex<[[UInt8]]>([])
    let rtcp = Mutex<[[UInt8]]>([])
    func sendRTP(_ packet: UnsafeRawBufferPointer) -> Bool { rtp.withLock { $0.append(Array(packet)) }; return true }
    func sendRTCP(_ packet: UnsafeRawBufferPointer) -> Bool { rtcp.withLock { $0.append(Array(packet)) }; return true }
}

@Suite struct TrackRelayTests {
    private static let vp8 = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90000)
    /// VP8 payload descriptor + frame header: a keyframe, then a delta frame.
    private static let keyframe: [UInt8] = [0x10, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00]
    private static let delta: [UInt8] = [0x10, 0x01, 0x00, 0x00]

    private func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while !condition() {
            guard ContinuousClock.now < deadline else { Issue.record("timed out: \(what)"); return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// A track published on worker A reaches a subscriber on worker B, in order and rewritten
    /// for that subscriber; B's keyframe request reaches the publisher on A.
    @Test func aTrackOnOneWorkerIsServedFromAnother() async throws {
        let workerA = MediaWorker(name: "relay-a"), workerB = MediaWorker(name: "relay-b")
        defer { workerA.stop(); workerB.stop() }
        let roomA = SFU.Room(name: "sale", executor: workerA), roomB = SFU.Room(name: "sale", executor: workerB)
        let publisherTransport = SharedRecordingTransport(), subscriberTransport = SharedRecordingTransport()
        nonisolated(unsafe) var track: PublishedTrack!
        try await workerA.run {
            let host = SFU.Participant(sid: "PA_host", identity: "host", transport: publisherTransport)
            roomA.join(host)
            track = roomA.publish(host, kind: .video, codec: Self.vp8, ssrc: 0x1111, id: "TR_cam")
        }
        let feedback = RelayFeedbackTransport()
        let mirrorPublisher = SFU.Participant(sid: "PA_host", identity: "host", transport: feedback)
        let relay = try await TrackRelay.open(track, of: roomA, on: workerA, into: roomB, on: workerB,
                                              as: mirrorPublisher, feedback: feedback)
        #expect(relay.relayed.mirror.id == "TR_cam" && relay.relayed.mirror.ssrc == 0x1111)
        try await workerB.run {
            let viewer = SFU.Participant(sid: "PA_viewer", identity: "viewer", transport: subscriberTransport)
            roomB.join(viewer)
            roomB.subscribe(viewer, to: relay.relayed.mirror, ssrc: 0x2222, payloadType: 100, active: true)
        }
        // The publisher sends 50 packets on its worker, as its transport would.
        nonisolated(unsafe) let published = track!
        for sequence in 0..<50 {
            let payload = sequence == 0 ? Self.keyframe : Self.delta
            let packet = try RTPPacketBuilder(marker: sequence % 5 == 4, payloadType: 96,
                                             sequenceNumber: UInt16(1000 + sequence),
                                             timestamp: UInt32(3000 * (sequence / 5)), ssrc: 0x1111,
                                             payload: payload).bytes()
            try await workerA.run {
                var bytes = packet
                bytes.withUnsafeMutableBytes { roomA.receiveRTP($0, track: published) }
            }
        }
        try await waitUntil("50 packets on B") { subscriberTransport.rtp.withLock { $0.count } >= 50 }
        let sent = subscriberTransport.rtp.withLock { $0 }
        let sequences = sent.map { bytes in bytes.withUnsafeBytes { try! RTPPacket($0).sequenceNumber } }
        let ssrcs = Set(sent.map { bytes in bytes.withUnsafeBytes { try! RTPPacket($0).ssrc } })
        #expect(sent.count == 50)
        #expect(ssrcs == [0x2222], "rewritten for B's subscriber")
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $1 == $0 &+ 1 }, "in order, no gap")
        #expect(relay.relayed.source.ring.drops == (0, 0))

        // B's subscriber asks for a keyframe: a PLI for the original SSRC reaches A's publisher,
        // once A's per-layer throttle (500 ms, opened by the relay's own request) lets it.
        try await Task.sleep(for: .milliseconds(600))
        let before = publisherTransport.rtcp.withLock { $0.count }
        try await workerB.run {
            nonisolated(unsafe) let mirror = relay.relayed.mirror
            roomB.requestKeyframe(mirror, bypassingThrottle: true)
        }
        try await waitUntil("PLI on A") { publisherTransport.rtcp.withLock { $0.count } > before }
        let pli = publisherTransport.rtcp.withLock { $0.last! }
        #expect(pli[1] == 206 && pli[0] & 0x1F == 1, "a PLI")
        #expect(pli[8...11].elementsEqual([0x00, 0x00, 0x11, 0x11]), "about the publisher's own SSRC")

        await relay.close()
        try await workerB.run {
            #expect(roomB.participant(identity: "host")?.publishedTracks.isEmpty == true)
        }
    }
}
