import Media
import Testing
@testable import SFU

/// Recorded-style sequences through the whole Forwarder: start, switches up and down, pause and
/// resume, layers disappearing, loss, reorder, wrap, H.264, single-layer tracks.
@Suite struct ForwarderTests {
    static let layers: [LayerSelector.Layer] = [
        .init(width: 320, height: 180), .init(width: 640, height: 360), .init(width: 1280, height: 720),
    ]

    /// Three layers with unrelated numbering; `now` advances one frame per `step`.
    struct Sim {
        var sources: [LayerSource]
        var recorder: ForwardingRecorder
        var now: Int64 = 1_000_000_000

        init(_ forwarder: Forwarder, vp8: Bool = true, seqs: [UInt16] = [100, 20_000, 60_000],
             timestamps: [UInt32] = [1000, 2_000_000_000, 4_000_000_000]) {
            sources = (0..<seqs.count).map {
                LayerSource(layer: $0, seq: seqs[$0], timestamp: timestamps[$0], pictureID: UInt16($0 * 10_000),
                            tl0: UInt8($0 * 80), keyIndex: UInt8($0 * 7), packetsPerFrame: $0 + 1, vp8: vp8)
            }
            recorder = ForwardingRecorder(forwarder)
        }

        /// One frame on each layer in `active` (keyframes on `keyframes`); returns the decisions.
        @discardableResult
        mutating func step(keyframes: Set<Int> = [], active: Set<Int> = [0, 1, 2]) -> [Forwarder.Decision] {
            var decisions: [Forwarder.Decision] = []
            for layer in sources.indices where active.contains(layer) {
                let frame = sources[layer].frame(keyframe: keyframes.contains(layer), arrival: now)
                decisions += recorder.feed(frame)
            }
            now += frameInterval
            return decisions
        }

        var forwarder: Forwarder { recorder.forwarder }
        var lastOutputLayer: Int? { recorder.outputs.last?.input.packet.layer }
    }

    @Test func startWaitsForAKeyframeAndAsksForIt() {
        var sim = Sim(Forwarder(layers: Self.layers, settings: .quality(.high)))
        let first = sim.step()
        #expect(first.allSatisfy { $0.rewrite == nil })
        #expect(first.last?.action == .drop(.waitingForKeyframe))
        #expect(first.last?.keyframeNeeded == 2)
        sim.step(keyframes: [2])
        #expect(sim.forwarder.currentLayer == 2)
        #expect(sim.recorder.outputs.count == 3)
        // The first stream keeps its own numbers.
        #expect(sim.recorder.outputs.first?.rewrite.sequenceNumber == sim.recorder.outputs.first?.input.packet.sequenceNumber)
        #expect(sim.step().allSatisfy { $0.keyframeNeeded == nil })
        #expect(sim.recorder.continuityProblems() == [])
    }

    @Test func opportunisticStartOnALowerLayer() {
        var sim = Sim(Forwarder(layers: Self.layers, settings: .quality(.high)))
        sim.step()
        let decisions = sim.step(keyframes: [0])
        #expect(sim.forwarder.currentLayer == 0)
        #expect(decisions.first?.layerSwitch == .init(from: nil, to: 0))
        #expect(decisions.last?.keyframeNeeded == 2)
        sim.step(keyframes: [1])  // not the target: ignored while forwarding
        #expect(sim.forwarder.currentLayer == 0)
        sim.step(keyframes: [2])
        #expect(sim.forwarder.currentLayer == 2)
        #expect(sim.recorder.continuityProblems() == [])
    }

    @Test func switchUpAndDownOnlyAtKeyframes() {
        var sim = Sim(Forwarder(layers: Self.layers, settings: .quality(.low)))
        sim.step(keyframes: [0, 1, 2])
        sim.step()
        #expect(sim.forwarder.currentLayer == 0)
        // Up: keep forwarding LOW until HIGH's keyframe.
        let update = sim.recorder.forwarder.setSettings(.quality(.high), now: sim.now)
        #expect(update.keyframeNeeded == 2)
        for _ in 0..<5 {
            let decisions = sim.step()
            #expect(decisions.contains { $0.rewrite != nil })
            #expect(decisions.allSatisfy { $0.keyframeNeeded == 2 })
        }
        #expect(sim.lastOutputLayer == 0)
        sim.step(keyframes: [1])  // a keyframe on the wrong layer changes nothing
        #expect(sim.forwarder.currentLayer == 0)
        let switched = sim.step(keyframes: [2])
        #expect(switched.contains { $0.layerSwitch == .init(from: 0, to: 2) })
        sim.step()
        #expect(sim.lastOutputLayer == 2)
        // Down via adaptive stream: a 360p player gets MEDIUM.
        #expect(sim.recorder.forwarder.setSettings(.dimensions(width: 640, height: 360), now: sim.now).keyframeNeeded == 1)
        sim.step(); sim.step()
        #expect(sim.lastOutputLayer == 2)
        sim.step(keyframes: [1])
        #expect(sim.forwarder.currentLayer == 1)
        sim.step()
        #expect(sim.recorder.continuityProblems() == [])
        // Up: HIGH's keyframe arrives right after LOW's frame of the same capture instant, so wall
        // time gives it the smallest step that keeps it a new frame. Down: MEDIUM's keyframe
        // arrives before HIGH's frame of that instant, one frame (3000) after the last forwarded.
        let outs = sim.recorder.outputs
        let steps = zip(outs, outs.dropFirst()).filter { $0.segment != $1.segment }.map { $1.extTimestamp - $0.extTimestamp }
        #expect(steps == [1, 3000])
    }

    @Test func pauseAndResume() {
        var sim = Sim(Forwarder(layers: Self.layers, settings: .quality(.medium)))
        sim.step(keyframes: [1])
        sim.step()
        let update = sim.recorder.forwarder.setSettings(.disabled, now: sim.now)
        #expect(update.streamStateChange == .paused)
        #expect(update.keyframeNeeded == nil)
        let lastOut = sim.recorder.outputs.last!
        for _ in 0..<30 {
            #expect(sim.step(keyframes: [0, 1, 2]).allSatisfy { $0.action == .drop(.paused) && $0.streamStateChange == nil })
        }
        let resume = sim.recorder.forwarder.setSettings(.quality(.medium), now: sim.now)
        #expect(resume.streamStateChange == nil)  // ACTIVE once something flows again
        #expect(resume.keyframeNeeded == 1)
        let waiting = sim.step()
        #expect(waiting.allSatisfy { $0.rewrite == nil && $0.streamStateChange == nil })
        let resumed = sim.step(keyframes: [1])
        #expect(resumed.compactMap(\.streamStateChange) == [.active])
        let first = sim.recorder.outputs.first { $0.segment == 2 }!
        #expect(first.extSeq == lastOut.extSeq + 1)
        // Same layer: its own clock gives the exact time that passed (32 frames).
        #expect(first.extTimestamp - lastOut.extTimestamp == 32 * 3000)
        #expect(first.extPictureID == lastOut.extPictureID! + 1)
        #expect(sim.recorder.continuityProblems() == [])
    }

    @Test func bandwidthCapPausesAndLimits() {
        var sim = Sim(Forwarder(layers: Self.layers, settings: .quality(.high)))
        sim.step(keyframes: [2])
        #expect(sim.recorder.forwarder.setCap(.upTo(0), now: sim.now).keyframeNeeded == 0)
        sim.step(keyframes: [0])
        #expect(sim.forwarder.currentLayer == 0)
        #expect(sim.recorder.forwarder.setCap(.paused, now: sim.now).streamStateChange == .paused)
        #expect(sim.step(keyframes: [0]).allSatisfy { $0.action == .drop(.paused) })
        #expect(sim.recorder.forwarder.setCap(.unlimited, now: sim.now).keyframeNeeded == 2)
        let decisions = sim.step(keyframes: [2])
        #expect(decisions.compactMap(\.streamStateChange) == [.active])
        #expect(sim.forwarder.currentLayer == 2)
        #expect(sim.recorder.continuityProblems() == [])
    }

    @Test func layerThatStopsArrivingIsReplaced() {
        var sim = Sim(Forwarder(layers: Self.layers, settings: .quality(.high)))
        sim.step(keyframes: [2])
        sim.step()
        // HIGH stops (publisher's encoder dropped it). Within the 1 s timeout nothing changes.
        for _ in 0..<29 { sim.step(active: [0, 1]) }
        #expect(sim.forwarder.targetLayer == 2)
        var decisions: [Forwarder.Decision] = []
        for _ in 0..<3 { decisions += sim.step(active: [0, 1]) }
        #expect(sim.forwarder.targetLayer == 1)
        #expect(sim.forwarder.currentLayer == nil)
        #expect(decisions.last?.keyframeNeeded == 1)
        #expect(decisions.allSatisfy { $0.streamStateChange == nil })  // not a pause
        sim.step(keyframes: [1], active: [0, 1])
        #expect(sim.forwarder.currentLayer == 1)
        // HIGH comes back: switch up at its keyframe.
        sim.step()
        #expect(sim.forwarder.targetLayer == 2)
        sim.step(keyframes: [2])
        #expect(sim.forwarder.currentLayer == 2)
        #expect(sim.recorder.continuityProblems() == [])
        // The resume after the outage advanced the timestamp by the wall time that passed.
        let outs = sim.recorder.outputs
        let gap = zip(outs, outs.dropFirst()).first { $0.input.packet.layer == 2 && $1.input.packet.layer == 1 }!
        // Last HIGH frame at step 1, LOW's keyframe 33 frames later (arrival offsets differ by 1 ms).
        #expect(abs((gap.1.extTimestamp - gap.0.extTimestamp) - 33 * 3000) <= 90)
    }

    @Test func everyLayerStoppingIsNotAPause() {
        var sim = Sim(Forwarder(layers: Self.layers, settings: .quality(.high)))
        sim.step(keyframes: [2])
        let update = sim.recorder.forwarder.tick(now: sim.now + 2_000_000_000)
        #expect(update.streamStateChange == nil)
        #expect(sim.forwarder.targetLayer == nil && sim.forwarder.currentLayer == nil)
        #expect(sim.forwarder.availableLayers == 0)
    }

    @Test func lossAndReorderInsideALayer() {
        var sim = Sim(Forwarder(layers: Self.layers, settings: .quality(.high)))
        var recorder = sim.recorder
        var source = sim.sources[2]
        var lost: Set<Int64> = []
        recorder.feed(source.frame(keyframe: true, arrival: 0))
        for f in 1..<20 {
            var frame = source.frame(keyframe: false, arrival: Int64(f) * frameInterval)
            if f % 5 == 0 { lost.insert(frame.remove(at: 1).extSeq) }  // upstream loss
            if f % 7 == 0 { frame.swapAt(0, 1) }                          // reorder
            recorder.feed(frame)
        }
        // Out of order output: check the mapped values against the source instead.
        let first = recorder.outputs[0]
        for out in recorder.outputs {
            #expect(out.extSeq - first.extSeq == out.input.extSeq - first.input.extSeq)
            #expect(out.extTimestamp - first.extTimestamp == out.input.extTimestamp - first.input.extTimestamp)
        }
        #expect(recorder.outputs.count == 3 * 20 - lost.count)
        sim.recorder = recorder
    }

    @Test func paddingIsSkippedSoTheSubscriberSeesNoGap() {
        var sim = Sim(Forwarder(layers: Self.layers, settings: .quality(.low)))
        sim.step(keyframes: [0])
        for _ in 0..<5 {
            let probe = sim.sources[0].padding(arrival: sim.now)
            #expect(sim.recorder.feed(probe).action == .drop(.paddingOnly))
            sim.step()
        }
        #expect(sim.recorder.outputs.map(\.extSeq) == Array(100...105))
        // ... continuity is then counted in the outgoing space: consecutive numbers.
        let outs = sim.recorder.outputs
        #expect(zip(outs, outs.dropFirst()).allSatisfy { $1.extSeq == $0.extSeq + 1 })
    }

    @Test func wrapOfSequenceAndTimestampAcrossSwitches() {
        var sim = Sim(Forwarder(layers: Self.layers, settings: .quality(.low)),
                      seqs: [65_500, 65_530, 10], timestamps: [0xFFFF_0000, 0xFFFF_F000, 5])
        sim.step(keyframes: [0])
        for i in 0..<60 {
            if i == 20 { _ = sim.recorder.forwarder.setSettings(.quality(.high), now: sim.now) }
            if i == 40 { _ = sim.recorder.forwarder.setSettings(.quality(.medium), now: sim.now) }
            sim.step(keyframes: i % 10 == 5 ? [0, 1, 2] : [])
        }
        #expect(sim.forwarder.currentLayer == 1)
        #expect(sim.recorder.continuityProblems() == [])
        let outs = sim.recorder.outputs
        #expect(outs.last!.extSeq > 65_536)  // wrapped
        #expect(outs.last!.extTimestamp > 0xFFFF_FFFF)
        #expect(Set(outs.map(\.segment)).count == 3)
    }

    @Test func h264SwitchesWithoutPictureIDs() {
        var sim = Sim(Forwarder(layers: Self.layers, settings: .quality(.low)), vp8: false)
        sim.step(keyframes: [0])
        _ = sim.recorder.forwarder.setSettings(.quality(.high), now: sim.now)
        sim.step()
        sim.step(keyframes: [2])
        sim.step()
        #expect(sim.forwarder.currentLayer == 2)
        #expect(sim.recorder.outputs.allSatisfy { $0.rewrite.vp8 == nil })
        #expect(sim.recorder.continuityProblems() == [])
    }

    @Test func singleLayerTrackIsAlmostAPassThrough() {
        var recorder = ForwardingRecorder(Forwarder(singleLayer: .init()))
        var source = LayerSource(layer: 0, seq: 65_000, timestamp: 0xFFF0_0000, pictureID: 32_700, packetsPerFrame: 2)
        var lost: Set<Int64> = []
        for f in 0..<1000 {
            var frame = source.frame(keyframe: f == 0, arrival: Int64(f) * frameInterval)
            if f % 97 == 3 { lost.insert(frame.removeLast().extSeq) }
            recorder.feed(frame)
        }
        #expect(recorder.outputs.allSatisfy {
            $0.rewrite.sequenceNumber == $0.input.packet.sequenceNumber && $0.rewrite.timestamp == $0.input.packet.timestamp
                && $0.rewrite.vp8?.pictureID == $0.input.packet.vp8?.pictureID
        })
        #expect(recorder.continuityProblems(lost: lost) == [])
        // Quality settings do not matter with one layer; width asks are served by it too.
        #expect(recorder.forwarder.setSettings(.quality(.low), now: 0).keyframeNeeded == nil)
        #expect(recorder.forwarder.setSettings(.dimensions(width: 4000, height: 3000), now: 0).keyframeNeeded == nil)
    }

    @Test func audioEveryPacketIsAStartingPoint() throws {
        var forwarder = Forwarder(singleLayer: .init(clockRate: 48_000, initialSequenceNumber: 1, initialTimestamp: 0))
        let builder = RTPPacketBuilder(payloadType: 111, sequenceNumber: 777, timestamp: 123_456, ssrc: 9, payload: [0xFC, 1, 2])
        let bytes = try builder.bytes()
        let decision = bytes.withUnsafeBytes { raw in
            forwarder.process(Forwarder.Packet(try! RTPPacket(raw), layer: 0, codec: .audio, arrival: 0))
        }
        #expect(decision.rewrite == .init(sequenceNumber: 1, timestamp: 0, marker: false))
    }

    @Test func timestampsAlignedBySenderReports() {
        // Both layers share a capture clock; their RTP clocks started far apart. With sender
        // reports the switch lands on the exact capture instant, whatever the arrival jitter.
        var forwarder = Forwarder(layers: Self.layers, settings: .quality(.low))
        let ntpBase: UInt64 = 0xE000_0000_0000_0000
        let ntpPerSecond: UInt64 = 1 << 32
        forwarder.setSenderReport(layer: 0, ntpTimestamp: ntpBase, rtpTimestamp: 1000)
        forwarder.setSenderReport(layer: 2, ntpTimestamp: ntpBase + ntpPerSecond, rtpTimestamp: 4_000_090_000)
        // Layer 0 at capture second 0..: ts 1000 + 3000k; layer 2 at second 0: ts 4_000_000_000.
        var low = LayerSource(layer: 0, seq: 1, timestamp: 1000)
        var high = LayerSource(layer: 2, seq: 1, timestamp: 4_000_000_000)
        var recorder = ForwardingRecorder(forwarder)
        recorder.feed(low.frame(keyframe: true, arrival: 0))
        _ = recorder.forwarder.setSettings(.quality(.high), now: 0)
        recorder.feed(high.frame(keyframe: false, arrival: 0))
        for f in 1..<10 {
            recorder.feed(low.frame(keyframe: false, arrival: Int64(f) * frameInterval))
            // HIGH arrives 120 ms late (slower encoder): wall time alone would misplace it.
            recorder.feed(high.frame(keyframe: false, arrival: Int64(f) * frameInterval))
        }
        recorder.feed(high.frame(keyframe: true, arrival: 10 * frameInterval + 120_000_000))
        #expect(recorder.forwarder.currentLayer == 2)
        let switched = recorder.outputs.first { $0.input.packet.layer == 2 }!
        // HIGH's frame 10 was captured with LOW's frame 10: ts 1000 + 10 * 3000 on LOW's clock.
        #expect(switched.extTimestamp == 31_000)
        #expect(recorder.continuityProblems() == [])
    }

    @Test func rewriteAppliesToRealPacketBytes() throws {
        var forwarder = Forwarder(layers: Self.layers, settings: .quality(.high),
                                  configuration: .init(initialSequenceNumber: 40_000, initialTimestamp: 77))
        var payload: [UInt8] = []
        VP8PayloadDescriptor(startOfPartition: true, pictureID: 555, tl0PicIdx: 9, temporalLayerID: 0, keyIndex: 4).write(to: &payload)
        payload += [0x50, 0x01, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0x68, 0x01]  // keyframe, 640x360
        var bytes = try RTPPacketBuilder(marker: true, payloadType: 96, sequenceNumber: 3, timestamp: 999, ssrc: 0xABC, payload: payload).bytes()
        try bytes.withUnsafeMutableBytes { raw in
            let mutable = try MutableRTPPacket(raw)
            let packet = Forwarder.Packet(mutable.packet, layer: 2, codec: .vp8, arrival: 5)
            #expect(packet.isKeyframe)
            let decision = forwarder.process(packet)
            let rewrite = try #require(decision.rewrite)
            rewrite.apply(to: mutable, vp8: packet.vp8)
            let reparsed = try RTPPacket(UnsafeRawBufferPointer(raw))
            #expect(reparsed.sequenceNumber == 40_000 && reparsed.timestamp == 77 && reparsed.marker)
            let descriptor = try VP8PayloadDescriptor(parsing: reparsed.payload)
            #expect(descriptor.pictureID == 555 && descriptor.tl0PicIdx == 9 && descriptor.keyIndex == 4)
        }
    }
}
