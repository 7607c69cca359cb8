import Egress
import Foundation
import SFU
import Testing
@testable import SluiceServer

/// The recording's tap keeps one simulcast layer: the top one, or, when the top one never comes,
/// the highest that does, chosen once before anything was recorded.
@Suite struct EgressTrackSinkTests {
    private static let second: UInt64 = 1_000_000_000

    /// Packets of `layer` (their first byte names the layer) at `at` nanoseconds.
    private func send(_ sink: EgressTrackSink, layer: Int, at: UInt64) {
        [UInt8(layer)].withUnsafeBytes { sink.receive($0, layer: layer, now: at) }
    }

    private func recorded(_ recorder: LoggingRecorder, _ writer: EgressWriterThread) async -> [String] {
        _ = await writer.finish()
        return recorder.log.filter { $0.hasPrefix("rtp") }
    }

    @Test func theTopLayerIsRecordedWhenItArrives() async {
        let recorder = LoggingRecorder()
        let writer = EgressWriterThread(recorder: recorder, name: "sink-top", onActive: {})
        writer.start()
        let sink = EgressTrackSink(index: 0, layer: 2, writer: writer)
        var fallbacks: [(Int, Int)] = []
        sink.onFallback = { fallbacks.append(($0, $1)) }
        for tenth in 0..<60 {
            let now = UInt64(tenth) * Self.second / 10
            for layer in 0...2 { send(sink, layer: layer, at: now) }
        }
        #expect(sink.layer == 2 && fallbacks.isEmpty)
        #expect(Set(await recorded(recorder, writer)) == ["rtp 0 2"])
    }

    @Test func aTopLayerThatNeverComesGivesWayToTheHighestThatDoes() async {
        let recorder = LoggingRecorder()
        let writer = EgressWriterThread(recorder: recorder, name: "sink-fallback", onActive: {})
        writer.start()
        let sink = EgressTrackSink(index: 0, layer: 2, writer: writer)
        var fallbacks: [(Int, Int)] = []
        sink.onFallback = { fallbacks.append(($0, $1)) }
        // The publisher's uplink holds only q and h: nothing is recorded for the first 3 s.
        var now: UInt64 = 0
        while now <= 3 * Self.second + Self.second / 2 {
            send(sink, layer: 0, at: now)
            send(sink, layer: 1, at: now)
            now += Self.second / 10
        }
        #expect(sink.layer == 1, "h, the highest layer flowing")
        #expect(fallbacks.count == 1 && fallbacks[0] == (2, 1))
        // Later the top layer shows up: the file keeps its picture size.
        for _ in 0..<10 {
            for layer in 0...2 { send(sink, layer: layer, at: now) }
            now += Self.second / 10
        }
        #expect(sink.layer == 1 && fallbacks.count == 1)
        let log = await recorded(recorder, writer)
        #expect(!log.isEmpty && Set(log) == ["rtp 0 1"])
    }

    @Test func aTopLayerThatWasRecordedIsNeverLeft() async {
        let recorder = LoggingRecorder()
        let writer = EgressWriterThread(recorder: recorder, name: "sink-keep", onActive: {})
        writer.start()
        let sink = EgressTrackSink(index: 0, layer: 1, writer: writer)
        send(sink, layer: 1, at: 0)
        // The top layer stops (dynacast, a congested uplink): the sink waits for it rather than
        // changing the file's picture size mid-recording.
        for tenth in 1...60 { send(sink, layer: 0, at: UInt64(tenth) * Self.second / 10) }
        #expect(sink.layer == 1)
        #expect(await recorded(recorder, writer) == ["rtp 0 1"])
    }
}
