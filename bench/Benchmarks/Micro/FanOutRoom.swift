import Media
import SFU

/// A room with one VP8 publisher and `subscribers` subscribers, all active, driven the way the
/// server drives it: `receiveNext()` is the media worker's receive callback for one packet, which
/// rewrites and hands the packet to every DownTrack's transport (at once, or at the end of its
/// receive batch, as the server does). `prime()` sends the first keyframe so DownTracks reach
/// steady state.
final class FanOutRoom {
    let executor = BenchExecutor()
    let room: Room
    let track: PublishedTrack
    let publisherTransport = CountingTransport()
    let subscriberTransports: [any MediaTransport]
    private(set) var stream: VP8Stream
    private(set) var primed = 0
    /// The publisher's tracks as the server hands them to `flushFanOut`.
    private let tracks: [PublishedTrack?]
    private var inBatch = 0

    init(subscribers: Int, defersFanOut: Bool = false,
         transport: (Int) throws -> any MediaTransport = { _ in CountingTransport() }) rethrows {
        room = Room(name: "bench", executor: executor)
        let transports = try (0..<subscribers).map(transport)
        subscriberTransports = transports
        stream = VP8Stream(ssrc: 0x1111_2222)
        let vp8 = TrackCodec(name: "VP8", payloadType: 96, clockRate: 90_000)
        let publisher = Participant(identity: "publisher", transport: publisherTransport)
        room.join(publisher)
        track = room.publish(publisher, kind: .video, codec: vp8, ssrc: 0x1111_2222)
        for (i, transport) in transports.enumerated() {
            let subscriber = Participant(identity: "subscriber-\(i)", transport: transport)
            room.join(subscriber)
            room.subscribe(subscriber, to: track, ssrc: 0x5000_0000 + UInt32(i), payloadType: 98, active: true)
        }
        track.defersFanOut = defersFanOut
        tracks = [track]
    }

    deinit { stream.deallocate() }

    /// How the transport callback hands packets to the room.
    enum Entry {
        /// `room.receiveRTP(packet, track: track)`, one packet at a time.
        case onExecutor
        /// The server's path: `receiveRTP` on a track that defers its fan-out, and
        /// `flushFanOut` after every `ReceiveQueue.batch` (8) packets, as a full receive queue's
        /// dispatches end.
        case batchesOf8
    }

    /// One packet through the receive path (the measured unit).
    @inline(__always)
    func receiveNext(_ entry: Entry = .onExecutor) {
        switch entry {
        case .onExecutor:
            room.receiveRTP(stream.next(), track: track)
        case .batchesOf8:
            room.receiveRTP(stream.next(), track: track)
            inBatch += 1
            if inBatch == 8 { finishBatch() }
        }
    }

    /// The receive batch ends: what the track queued goes out.
    func finishBatch() {
        inBatch = 0
        room.flushFanOut(tracks)
    }

    /// The keyframe (one frame) and a few deltas: every DownTrack has started and every lazy
    /// structure has been touched once.
    func prime() {
        for _ in 0..<(VP8Stream.packetsPerFrame * 4) { receiveNext() }
        finishBatch()
        primed = stream.count
    }

    /// Traps unless every subscriber was sent every packet since the keyframe: a benchmark that
    /// silently dropped packets would measure nothing.
    func verifyEverySubscriberGotEveryPacket() {
        finishBatch()
        let expected = stream.count
        for transport in subscriberTransports {
            if let counting = transport as? CountingTransport {
                precondition(counting.rtpPackets == expected, "subscriber got \(counting.rtpPackets) of \(expected)")
            } else if let protecting = transport as? ProtectingTransport {
                precondition(protecting.rtpPackets == expected && protecting.failures == 0,
                             "subscriber protected \(protecting.rtpPackets) of \(expected), \(protecting.failures) failures")
            }
        }
        precondition(track.malformedPackets == 0 && track.foreignSSRCPackets == 0)
    }
}
