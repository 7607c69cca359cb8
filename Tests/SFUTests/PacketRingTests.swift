import Foundation
import Synchronization
import Testing
@testable import SFU

@Suite struct PacketRingTests {
    @Test func entriesComeOutInOrderWithTheirLayerAndSenderReportsBetween() {
        let ring = PacketRing(capacity: 8)
        #expect(ring.capacity == 8)
        for value: UInt8 in 1...3 {
            let packet = [UInt8](repeating: value, count: Int(value) * 10)
            packet.withUnsafeBytes { _ = ring.push($0, layer: Int(value) - 1, arrival: UInt64(value)) }
        }
        ring.pushSenderReport(ntp: 42, rtpTimestamp: 9000, layer: 1)
        var seen: [String] = []
        let drained = ring.drain { entry in
            switch entry {
            case .rtp(let bytes, let layer, let arrival): seen.append("rtp \(bytes.count) \(bytes[0]) L\(layer) @\(arrival)")
            case .senderReport(let ntp, let ts, let layer): seen.append("sr \(ntp) \(ts) L\(layer)")
            }
        }
        #expect(drained == 4)
        #expect(seen == ["rtp 10 1 L0 @1", "rtp 20 2 L1 @2", "rtp 30 3 L2 @3", "sr 42 9000 L1"])
        #expect(ring.drain { _ in } == 0)
    }

    @Test func aFullRingDropsAndCountsWhatDoesNotFit() {
        let ring = PacketRing(capacity: 4)
        let packet = [UInt8](repeating: 7, count: 100)
        let accepted = (0..<6).filter { _ in packet.withUnsafeBytes { ring.push($0, layer: 0, arrival: 0) } }.count
        #expect(accepted == 4 && ring.drops.full == 2)
        let huge = [UInt8](repeating: 0, count: PacketRing.slotSize + 1)
        #expect(huge.withUnsafeBytes { ring.push($0, layer: 0, arrival: 0) } == false && ring.drops.oversized == 1)
        #expect(ring.drain { _ in } == 4)
        #expect(packet.withUnsafeBytes { ring.push($0, layer: 0, arrival: 0) }, "drained slots are free again")
    }

    /// A producer thread and a consumer thread at full speed: every packet arrives once, in
    /// order and intact, or is counted as dropped.
    @Test func twoThreadsNeverTearOrReorderPackets() async {
        let ring = PacketRing(capacity: 64)
        let total = 200_000
        let done = Atomic<Bool>(false)
        let producer = Thread {
            var bytes = [UInt8](repeating: 0, count: 64)
            for index in 0..<total {
                withUnsafeBytes(of: UInt32(index).bigEndian) { bytes.replaceSubrange(0..<4, with: $0) }
                bytes[63] = UInt8(truncatingIfNeeded: index)
                while !bytes.withUnsafeBytes({ ring.push($0, layer: index % 3, arrival: UInt64(index)) }) {}
            }
            done.store(true, ordering: .releasing)
        }
        producer.start()
        var next = 0
        var torn = 0
        while next < total {
            ring.drain { entry in
                guard case .rtp(let bytes, let layer, let arrival) = entry else { torn += 1; return }
                let index = Int(bytes.load(as: UInt32.self).bigEndian)
                if index != next || layer != index % 3 || arrival != UInt64(index)
                    || bytes[63] != UInt8(truncatingIfNeeded: index) { torn += 1 }
                next = index + 1
            }
            if done.load(ordering: .acquiring) && ring.count == 0 && next < total { break }
        }
        #expect(torn == 0)
        #expect(next == total, "every packet arrived (the producer retries when full)")
    }
}
