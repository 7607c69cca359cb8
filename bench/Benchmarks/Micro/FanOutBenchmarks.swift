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
    // The server's path: the fan-out deferred to the end of each receive batch of 8 packets,
    // then sent subscriber by subscriber.
    for subscribers in [10, 100] {
        fanOut("Fan-out VP8 to \(subscribers) DownTracks in batches of 8 (no-op transport)", subscribers: subscribers,
               entry: .batchesOf8) { _ in CountingTransport() }
    }
    // The same with each subscriber's SRTP protect into the worker's scratch buffer (GCM, the
    // profile we prefer): what a forwarded packet costs before the socket.
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500 + SRTPSession.maxRTPTrailer, alignment: 16)
    fanOut("Fan-out VP8 to 10 DownTracks + SRTP protect (GCM)", subscribers: 10) { i in
        try! ProtectingTransport(profile: .aeadAes128Gcm, seed: UInt8(i), scratch: scratch)
    }
    // With 200 subscribers their state (forwarder, SRTP context) outgrows the CPU's caches:
    // packet by packet against the server's batches of 8, sent subscriber by subscriber.
    fanOut("Fan-out VP8 to 200 DownTracks + SRTP protect (GCM)", subscribers: 200) { i in
        try! ProtectingTransport(profile: .aeadAes128Gcm, seed: UInt8(truncatingIfNeeded: i), scratch: scratch)
    }
    fanOut("Fan-out VP8 to 200 DownTracks + SRTP protect (GCM) in batches of 8", subscribers: 200, entry: .batchesOf8) { i in
        try! ProtectingTransport(profile: .aeadAes128Gcm, seed: UInt8(truncatingIfNeeded: i), scratch: scratch)
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
            room = FanOutRoom(subscribers: subscribers, defersFanOut: entry == .batchesOf8, transport: transport)
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
