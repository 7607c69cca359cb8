import Media
import Testing
@testable import SFU

/// Seeded random sessions through the Forwarder: three layers with random starting numbers (so
/// sequence numbers, timestamps and picture ids wrap), upstream loss, reorder, padding probes,
/// layer outages, settings and cap changes, pauses, PLI-driven keyframes. Every run checks the
/// invariants a subscriber's decoder depends on.
@Suite struct ForwarderPropertyTests {
    static let layers: [LayerSelector.Layer] = [
        .init(width: 320, height: 180), .init(width: 640, height: 360), .init(width: 1280, height: 720),
    ]

    @Test(arguments: [1, 2, 3, 7, 42, 2024, 31337, 0xDEAD_BEEF] as [UInt64])
    func randomSession(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let frames = 3000
        let stableFrom = frames - 300
        var sources = (0..<3).map { layer in
            LayerSource(
                layer: layer, seq: UInt16.random(in: 0...UInt16.max, using: &rng),
                timestamp: Bool.random(using: &rng) ? UInt32.random(in: 0xFF00_0000...UInt32.max, using: &rng)
                    : UInt32.random(in: 0...UInt32.max, using: &rng),
                pictureID: UInt16.random(in: 0...0x7FFF, using: &rng), tl0: UInt8.random(in: 0...255, using: &rng),
                keyIndex: UInt8.random(in: 0...31, using: &rng), packetsPerFrame: layer + 1 + Int.random(in: 0...2, using: &rng))
        }
        // The outgoing stream starts close to its wrap points so every run wraps both.
        let configuration = Forwarder.Configuration(
            initialSequenceNumber: UInt16.random(in: 60_000...65_000, using: &rng),
            initialTimestamp: UInt32.random(in: 0xFFF0_0000...0xFFFF_0000, using: &rng))
        var recorder = ForwardingRecorder(Forwarder(layers: Self.layers, settings: .quality(.high), configuration: configuration))
        var now: Int64 = 1_000_000_000
        var lost = [Set<Int64>](repeating: [], count: 3)
        var dropped = [[Int64: Forwarder.DropReason]](repeating: [:], count: 3)
        var forwardedIn = [Set<Int64>](repeating: [], count: 3)
        var outageUntil = [Int64](repeating: 0, count: 3)
        var keyframeAt = [Int64?](repeating: nil, count: 3)
        var lastPLI = [Int64](repeating: .min / 2, count: 3)
        var stateEvents: [Forwarder.StreamState] = []
        var problems: [String] = []
        var paused = false

        func handle(keyframeNeeded: Int?, state: Forwarder.StreamState?, at time: Int64) {
            if let layer = keyframeNeeded, time - lastPLI[layer] > 300_000_000 {
                lastPLI[layer] = time
                if keyframeAt[layer] == nil { keyframeAt[layer] = time + Int64.random(in: 30...150, using: &rng) * 1_000_000 }
            }
            if let state {
                stateEvents.append(state)
                paused = state == .paused
            }
        }

        for f in 0..<frames {
            // Control-plane changes between frames.
            if f < stableFrom {
                if Double.random(in: 0..<1, using: &rng) < 0.02 {
                    let settings: LayerSelector.Settings = switch Int.random(in: 0..<10, using: &rng) {
                    case 0: .disabled
                    case 1...3: .quality(LayerSelector.Quality.allCases.randomElement(using: &rng)!)
                    default: .dimensions(width: Int.random(in: 100...1920, using: &rng), height: Int.random(in: 100...1080, using: &rng))
                    }
                    let update = recorder.forwarder.setSettings(settings, now: now)
                    handle(keyframeNeeded: update.keyframeNeeded, state: update.streamStateChange, at: now)
                }
                if Double.random(in: 0..<1, using: &rng) < 0.01 {
                    let cap: LayerSelector.Cap = switch Int.random(in: 0..<6, using: &rng) {
                    case 0: .paused
                    case 1, 2: .unlimited
                    default: .upTo(Int.random(in: 0...2, using: &rng))
                    }
                    let update = recorder.forwarder.setCap(cap, now: now)
                    handle(keyframeNeeded: update.keyframeNeeded, state: update.streamStateChange, at: now)
                }
                for layer in 0..<3 where Double.random(in: 0..<1, using: &rng) < 0.003 {
                    outageUntil[layer] = now + Int64.random(in: 500...3000, using: &rng) * 1_000_000
                }
            } else if f == stableFrom {
                outageUntil = [0, 0, 0]
                for update in [recorder.forwarder.setSettings(.quality(.high), now: now),
                               recorder.forwarder.setCap(.unlimited, now: now)] {
                    handle(keyframeNeeded: update.keyframeNeeded, state: update.streamStateChange, at: now)
                }
            }
            if f % 25 == 0 {
                let update = recorder.forwarder.tick(now: now)
                handle(keyframeNeeded: update.keyframeNeeded, state: update.streamStateChange, at: now)
            }

            for layer in 0..<3 where now >= outageUntil[layer] {
                let arrival = now + Int64.random(in: 0...5, using: &rng) * 1_000_000
                var keyframe = f % 300 == layer * 7
                if let at = keyframeAt[layer], arrival >= at {
                    keyframe = true
                    keyframeAt[layer] = nil
                }
                var packets = sources[layer].frame(keyframe: keyframe, arrival: arrival)
                if Double.random(in: 0..<1, using: &rng) < 0.03 { packets.append(sources[layer].padding(arrival: arrival + 4_000_000)) }
                packets.removeAll { packet in
                    let drop = Double.random(in: 0..<1, using: &rng) < 0.02
                    if drop { lost[layer].insert(packet.extSeq) }
                    return drop
                }
                if packets.count > 1, Double.random(in: 0..<1, using: &rng) < 0.05 {
                    let i = Int.random(in: 0..<(packets.count - 1), using: &rng)
                    packets.swapAt(i, i + 1)
                }
                for packet in packets {
                    let wasPaused = paused
                    let decision = recorder.feed(packet)
                    handle(keyframeNeeded: decision.keyframeNeeded, state: decision.streamStateChange, at: packet.packet.arrival)
                    switch decision.action {
                    case .forward:
                        forwardedIn[layer].insert(packet.extSeq)
                        if paused { problems.append("forwarded while paused at frame \(f)") }
                        if wasPaused && decision.streamStateChange != .active { problems.append("resumed without ACTIVE at frame \(f)") }
                    case .drop(let reason):
                        dropped[layer][packet.extSeq] = reason
                        if reason == .tooOld { problems.append("too old with shallow reorder at frame \(f)") }
                    }
                    if let change = decision.layerSwitch {
                        let target = recorder.forwarder.targetLayer ?? -1
                        let allowed = change.to == target || (change.from == nil && change.to < target)
                        if !allowed { problems.append("switch \(change) with target \(target) at frame \(f)") }
                    }
                }
            }
            now += frameInterval
        }

        let outputs = recorder.outputs
        // Enough got through, and the stable tail ends on the requested layer.
        #expect(outputs.count > frames)
        #expect(recorder.forwarder.currentLayer == 2)
        #expect(recorder.forwarder.targetLayer == 2)
        // PAUSED and ACTIVE alternate, starting with PAUSED.
        for (i, event) in stateEvents.enumerated() where event != (i % 2 == 0 ? .paused : .active) {
            problems.append("stream state events out of order: \(stateEvents)")
            break
        }

        // Segments: one layer each, anchored at a keyframe.
        var segmentLayer: [Int: Int] = [:]
        for out in outputs {
            let layer = out.input.packet.layer
            if let known = segmentLayer[out.segment], known != layer { problems.append("segment \(out.segment) mixes layers") }
            segmentLayer[out.segment] = layer
        }

        // Outgoing sequence numbers: unique; gap-free except upstream loss, in outgoing order.
        let sorted = outputs.sorted { $0.extSeq < $1.extSeq }
        for (a, b) in zip(sorted, sorted.dropFirst()) {
            guard b.extSeq > a.extSeq else { problems.append("duplicate out seq \(a.extSeq)"); continue }
            let layer = a.input.packet.layer
            if a.segment == b.segment {
                var unexplained = 0
                var missing = 0
                for s in (a.input.extSeq + 1)..<b.input.extSeq where !forwardedIn[layer].contains(s) && dropped[layer][s] != .paddingOnly {
                    missing += 1
                    let lateInKeyframe = dropped[layer][s] != nil && s - firstSeq(of: a.segment, in: outputs) < 8
                    if !lost[layer].contains(s) && !lateInKeyframe { unexplained += 1 }
                }
                if b.extSeq - a.extSeq - 1 != Int64(missing) || unexplained > 0 {
                    problems.append("gap \(a.extSeq)->\(b.extSeq) missing \(missing) unexplained \(unexplained)")
                }
            } else if b.extSeq != a.extSeq + 1 || !b.input.packet.isKeyframe || b.segment != a.segment + 1 && !skipsEmpty(a.segment, b.segment, outputs) {
                problems.append("segment boundary \(a.extSeq)->\(b.extSeq) (segments \(a.segment)->\(b.segment))")
            }
        }

        // Timestamps and VP8 fields, in emission order.
        var highestSeq = Int64.min
        var highestTs = Int64.min
        var last: ForwardingRecorder.Output?
        var anchors: [Int: ForwardingRecorder.Output] = [:]
        for out in outputs {
            let anchor = anchors[out.segment] ?? out
            if anchors[out.segment] == nil {
                anchors[out.segment] = out
                if let last {
                    if out.extTimestamp <= highestTs { problems.append("switch timestamp not ahead at out \(out.extSeq)") }
                    if out.extPictureID != last.extPictureID! + 1 { problems.append("switch picture id at out \(out.extSeq)") }
                    if out.rewrite.vp8?.tl0PicIdx != last.rewrite.vp8!.tl0PicIdx! &+ 1 { problems.append("switch TL0PICIDX at out \(out.extSeq)") }
                    if out.rewrite.vp8?.keyIndex != (last.rewrite.vp8!.keyIndex! &+ 1) & 0x1F { problems.append("switch KEYIDX at out \(out.extSeq)") }
                }
            }
            if out.extTimestamp - anchor.extTimestamp != out.input.extTimestamp - anchor.input.extTimestamp {
                problems.append("timestamp drift at out \(out.extSeq)")
            }
            if out.extPictureID! - anchor.extPictureID! != out.input.extPictureID! - anchor.input.extPictureID! {
                problems.append("picture id drift at out \(out.extSeq)")
            }
            let tl0Shift = out.rewrite.vp8!.tl0PicIdx! &- UInt8(truncatingIfNeeded: out.input.extTL0!)
            if tl0Shift != anchor.rewrite.vp8!.tl0PicIdx! &- UInt8(truncatingIfNeeded: anchor.input.extTL0!) {
                problems.append("TL0PICIDX drift at out \(out.extSeq)")
            }
            if out.extSeq > highestSeq {
                if out.extTimestamp < highestTs { problems.append("timestamp went back at out \(out.extSeq)") }
                highestSeq = out.extSeq
                highestTs = max(highestTs, out.extTimestamp)
                last = out
            }
        }
        // The run exercised what it claims to.
        let switches = Set(outputs.map(\.segment)).count
        let lostCount = lost.map(\.count).reduce(0, +)
        let skipped = dropped.map { $0.values.filter { $0 == .paddingOnly }.count }.reduce(0, +)
        #expect(sorted.last!.extSeq > 0xFFFF && outputs.last!.extTimestamp > 0xFFFF_FFFF, "seed \(seed): no wrap")
        #expect(switches >= 5 && lostCount > 50 && skipped > 10, "seed \(seed): \(switches) anchors, \(lostCount) lost, \(skipped) skipped")
        print("seed \(seed): \(outputs.count) forwarded, \(switches) anchors, \(stateEvents.count) state events, \(lostCount) lost, \(skipped) padding skipped, out seq span \(sorted.last!.extSeq - sorted.first!.extSeq)")
        #expect(problems.isEmpty, "seed \(seed): \(problems.prefix(10))")
    }

    private func firstSeq(of segment: Int, in outputs: [ForwardingRecorder.Output]) -> Int64 {
        outputs.first { $0.segment == segment }!.input.extSeq
    }

    /// True when the segments strictly between `a` and `b` forwarded nothing.
    private func skipsEmpty(_ a: Int, _ b: Int, _ outputs: [ForwardingRecorder.Output]) -> Bool {
        !outputs.contains { $0.segment > a && $0.segment < b }
    }
}
