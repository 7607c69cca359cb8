import Benchmark
import SFU
import WebRTC

/// The whole receive -> fan-out path for one packet to N DownTracks, without the network.
/// Acceptance (issue #8): zero mallocs per forwarded packet in steady state.
func fanOutBenchmarks() {
    for subscribers in [1, 10, 100] {
        fanOut("Fan-out VP8 to \(subscribers) DownTracks (no-op transport)", subscribers: subscribers) { _ in
            CountingTransport()
        }
    }
    // The entry the server's receive callback uses today: assumeIsolated with a capturing closure.
    fanOut("Fan-out VP8 to 10 DownTracks, entered via assumeIsolated", subscribers: 10, entry: .assumeIsolated) { _ in
        CountingTransport()
    }
    // The same with each subscriber's SRTP protect into the worker's scratch buffer (GCM, the
    // profile we prefer): what a forwarded packet costs before the socket.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500 + SRTPSession.maxRTPTrailer, alignment: 16)
    fanOut("Fan-out VP8 to 10 DownTracks + SRTP protect (GCM)", subscribers: 10) { i in
        try! ProtectingTransport(profile: .aeadAes128Gcm, seed: UInt8(i), scratch: scratch)
    }
}

/// Registers one fan-out benchmark. The room is built and primed on the first run (on the
/// benchmark's thread, which becomes the room's executor thread) and kept for later runs, so
/// the measured packets are all steady-state deltas.
private func fanOut(_ name: String, subscribers: Int, entry: FanOutRoom.Entry = .onExecutor,
                    transport: @escaping (Int) -> any MediaTransport) {
    var fixture: FanOutRoom?
    Benchmark(name) { benchmark in
        let room: FanOutRoom
        if let existing = fixture {
            room = existing
        } else {
            room = FanOutRoom(subscribers: subscribers, transport: transport)
            room.prime()
            fixture = room
        }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            room.receiveNext(entry)
        }
        benchmark.stopMeasurement()
        room.verifyEverySubscriberGotEveryPacket()
    }
}
