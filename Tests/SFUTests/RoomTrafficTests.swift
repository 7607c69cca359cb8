import Media
import Testing
@testable import SFU

/// `Room.traffic()` copies the counters the forwarding path keeps, keyed by their owner, which
/// is what the metrics scrape turns into Prometheus counters.
@Suite struct RoomTrafficTests {
    @Test func countsPacketsInAndOutPerOwner() {
        let room = Room(name: "r", executor: ThreadBoundExecutor(), clock: { 0 })
        let publisher = Participant(sid: "PA_pub", identity: "pub", transport: RecordingTransport())
        let viewers = (0..<3).map {
            Participant(sid: "PA_v\($0)", identity: "v\($0)", transport: RecordingTransport())
        }
        let opus = TrackCodec(name: "opus", payloadType: 111, clockRate: 48000, channels: 2)
        room.join(publisher)
        let track = room.publish(publisher, kind: .audio, codec: opus, ssrc: 0xAAAA)
        for (i, viewer) in viewers.enumerated() {
            room.join(viewer)
            room.subscribe(viewer, to: track, ssrc: 0xB000 + UInt32(i), payloadType: 111, active: true)
        }
        for seq in UInt16(1)...10 {
            var packet = rtp(seq: seq, pt: 111, payload: [1, 2, 3, 4])
            packet.withUnsafeMutableBytes { room.receiveRTP($0, track: track) }
        }
        let traffic = room.traffic()
        let id = track.id
        #expect(traffic.publishedAudioTracks == 1 && traffic.publishedVideoTracks == 0)
        #expect(traffic.counters["t:\(id)"]?.packetsIn == 10)
        #expect((traffic.counters["t:\(id)"]?.bytesIn ?? 0) >= 10 * 16)  // whole packets: header + payload
        for viewer in viewers {
            #expect(traffic.counters["d:\(id)/\(viewer.sid)"]?.packetsOut == 10)
            #expect(traffic.counters["d:\(id)/\(viewer.sid)"]?.bytesOut == 40)  // payload octets
        }
        #expect(traffic.counters.count == 1 + 1 + 3 + 3)  // participants, the track, DownTracks
    }
}
