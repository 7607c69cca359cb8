import Media

/// Turns encoded frames into RTP packets the way a WebRTC sender would (test side only).
struct TestPacketizer {
    var payloadType: UInt8
    var ssrc: UInt32
    var sequence: UInt16
    var maxPayload = 1100
    private var pictureID: UInt16 = 0x1234

    init(payloadType: UInt8, ssrc: UInt32 = 0x1122_3344, firstSequence: UInt16 = 65500) {
        self.payloadType = payloadType
        self.ssrc = ssrc
        self.sequence = firstSequence
    }

    private mutating func packet(_ payload: [UInt8], timestamp: UInt32, marker: Bool) -> [UInt8] {
        defer { sequence &+= 1 }
        return try! RTPPacketBuilder(marker: marker, payloadType: payloadType, sequenceNumber: sequence,
                                     timestamp: timestamp, ssrc: ssrc, payload: payload).bytes()
    }

    /// RFC 7741: a descriptor with a 15-bit picture id before each chunk; S=1 on the first.
    mutating func vp8(_ frame: SourceFrame) -> [[UInt8]] {
        defer { pictureID = (pictureID &+ 1) & 0x7FFF }
        var packets: [[UInt8]] = []
        let chunk = maxPayload - 4
        var offset = 0
        while offset < frame.data.count {
            let end = min(offset + chunk, frame.data.count)
            var payload: [UInt8] = []
            VP8PayloadDescriptor(startOfPartition: offset == 0, pictureID: pictureID).write(to: &payload)
            payload.append(contentsOf: frame.data[offset..<end])
            packets.append(packet(payload, timestamp: frame.timestamp, marker: end == frame.data.count))
            offset = end
        }
        return packets
    }

    /// RFC 6184: parameter sets aggregated in one STAP-A, small units as single NAL packets, large
    /// ones as FU-A fragments.
    mutating func h264(_ accessUnit: [[UInt8]], timestamp: UInt32) -> [[UInt8]] {
        var payloads: [[UInt8]] = []
        let parameterSets = accessUnit.filter { [7, 8].contains($0[0] & 0x1F) }
        if !parameterSets.isEmpty, let stap = H264Payload.stapA(parameterSets) { payloads.append(stap) }
        for unit in accessUnit where ![7, 8, 9].contains(unit[0] & 0x1F) {
            if unit.count <= maxPayload {
                payloads.append(unit)
            } else {
                payloads.append(contentsOf: H264Payload.fuA(unit, maxPayloadSize: maxPayload))
            }
        }
        return payloads.enumerated().map { packet($0.element, timestamp: timestamp, marker: $0.offset == payloads.count - 1) }
    }

    /// RFC 7587: one Opus packet per RTP packet.
    mutating func opus(_ frame: SourceFrame) -> [[UInt8]] {
        [packet(frame.data, timestamp: frame.timestamp, marker: false)]
    }
}

/// An RTP packet as it reaches the recorder: which track and when.
struct TimedPacket {
    var bytes: [UInt8]
    var track: Int
    var arrival: UInt64
}

enum PacketSchedule {
    /// Packets of `frames` spread over their frame's time, starting at `start` ns.
    static func timed(_ framePackets: [[[UInt8]]], track: Int, frameInterval: UInt64, start: UInt64 = 1_000_000_000) -> [TimedPacket] {
        var out: [TimedPacket] = []
        for (index, packets) in framePackets.enumerated() {
            for (n, bytes) in packets.enumerated() {
                out.append(TimedPacket(bytes: bytes, track: track, arrival: start + UInt64(index) * frameInterval + UInt64(n) * 10_000))
            }
        }
        return out
    }

    /// Merges tracks by arrival time.
    static func merged(_ lists: [TimedPacket]...) -> [TimedPacket] {
        lists.flatMap { $0 }.sorted { $0.arrival < $1.arrival }
    }

    /// Shuffles delivery order within windows of `window` packets (arrival times stay monotonic,
    /// as they would for packets that overtook each other on the network).
    static func shuffled(_ packets: [TimedPacket], window: Int, seed: UInt64) -> [TimedPacket] {
        var generator = SplitMix64(seed: seed)
        var out: [TimedPacket] = []
        var index = 0
        while index < packets.count {
            let end = min(index + window, packets.count)
            var slice = Array(packets[index..<end])
            let arrivals = slice.map(\.arrival)
            slice.shuffle(using: &generator)
            for i in slice.indices { slice[i].arrival = arrivals[i] }
            out.append(contentsOf: slice)
            index = end
        }
        return out
    }

    /// Repeats every `every`-th packet right away and again a few packets later.
    static func duplicated(_ packets: [TimedPacket], every: Int) -> [TimedPacket] {
        var out: [TimedPacket] = []
        for (i, packet) in packets.enumerated() {
            out.append(packet)
            if i % every == 0 { out.append(packet) }
            if i >= 3, i % every == 1 {
                // A late copy: it arrives now, three packets after the original.
                var late = packets[i - 3]
                late.arrival = packet.arrival
                out.append(late)
            }
        }
        return out
    }

    /// Drops every packet whose index is in `indices`.
    static func dropping(_ packets: [TimedPacket], where drop: (Int) -> Bool) -> [TimedPacket] {
        packets.enumerated().filter { !drop($0.offset) }.map(\.element)
    }
}

/// Deterministic generator, so a failing shuffle reproduces from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
