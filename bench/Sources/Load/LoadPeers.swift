import Media
import WebRTC
#if canImport(Glibc)
import Glibc
#endif

/// The VP8 codec our publisher offers (payload type 96, NACK/PLI feedback like a browser's).
let loadVP8 = NegotiatedCodec(payloadType: 96, name: "VP8", clockRate: 90000, feedback: [
    SDPRTCPFeedback(payloadType: 96, type: "nack", parameter: nil),
    SDPRTCPFeedback(payloadType: 96, type: "nack", parameter: "pli"),
    SDPRTCPFeedback(payloadType: 96, type: "ccm", parameter: "fir"),
])

/// The SDP without ICE candidates outside 127.0.0.0/8: the load tool only ever sends to loopback
/// (a server may also list the machine's other addresses).
func loopbackOnly(_ sdp: String) -> String {
    sdp.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
        guard line.hasPrefix("a=candidate:") else { return true }
        let fields = line.split(separator: " ")
        return fields.count > 4 && fields[4].hasPrefix("127.")
    }.joined(separator: "\n")
}

/// Runs `body` on the worker once the connection's host candidates are gathered.
func whenGathered(_ connection: PeerConnection, worker: MediaWorker, _ body: @escaping () -> Void) {
    if connection.isGatheringDone { body(); return }
    nonisolated(unsafe) var timer: LoopTimer?
    nonisolated(unsafe) var tries = 0
    timer = LoopTimer(worker: worker) {
        tries += 1
        if connection.isGatheringDone || tries > 400 {
            timer = nil
            body()
        } else {
            timer?.schedule(afterMilliseconds: 5)
        }
    }
    timer?.schedule(afterMilliseconds: 5)
}

/// The one publisher: an offerer `PeerConnection` with one sendonly VP8 m-line that carries the
/// mid header extension (Janus routes by it), sending `SyntheticVP8` frames paced by a loop timer.
final class LoadPublisher: PeerConnectionDelegate, @unchecked Sendable {
    static let midExtensionID: UInt8 = 4
    let worker: MediaWorker
    let connection: PeerConnection
    let stream: SyntheticVP8
    let trackID: String
    let ssrc: UInt32 = 0x5EED_0001
    private(set) var mid = "0"
    private var timer: LoopTimer?
    private var startedAt: UInt64 = 0
    private(set) var frame = 0
    private(set) var index = 0
    private var sequence = UInt16.random(in: 0...UInt16.max)
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500, alignment: 16)
    private(set) var sendFailures = 0
    /// Called on the worker just before a frame is sent (frame number -> action).
    var marks: [Int: () -> Void] = [:]
    var onConnected: (() -> Void)?

    init(worker: MediaWorker, certificate: DTLSCertificate, stream: SyntheticVP8, trackID: String) throws {
        self.worker = worker
        self.stream = stream
        self.trackID = trackID
        connection = try PeerConnection(worker: worker, certificate: certificate, offeringOn: ["127.0.0.1"], portRange: nil)
        connection.delegate = self
    }

    deinit { scratch.deallocate() }

    /// The offer SDP (call once gathered).
    func makeOffer(mid: String = "0") throws -> String {
        self.mid = mid
        let track = OutgoingTrack(kind: .video, codecName: "VP8", ssrc: ssrc, streamID: "load-stream", trackID: trackID,
                                  cname: "sluice-load", tag: trackID)
        var offer = try connection.offer([OfferedSection(mid: mid, content: .track(track, codec: loadVP8))])
        offer.mediaSections[0].extmaps = [SDPExtmap(id: Self.midExtensionID, uri: RTPHeaderExtensionURI.mid)]
        return offer.description
    }

    func setAnswer(_ sdp: String) throws {
        try connection.setAnswer(try SessionDescription(parsing: loopbackOnly(sdp)))
    }

    func startSending() {
        guard timer == nil else { return }
        startedAt = monotonicNanoseconds()
        let timer = LoopTimer(worker: worker) { [weak self] in self?.tick() }
        self.timer = timer
        tick()
    }

    func stop() {
        timer?.cancel()
        timer = nil
    }

    var srtpProfile: SRTPProfile? { connection.transport.srtpProfile }

    private func tick() {
        if let mark = marks.removeValue(forKey: frame) { mark() }
        let count = stream.packets(inFrame: frame)
        for part in 0..<count {
            let length = stream.writePacket(into: scratch, frame: frame, part: part, index: index, sequence: sequence,
                                            ssrc: ssrc, payloadType: loadVP8.payloadType,
                                            midExtensionID: Self.midExtensionID, mid: mid)
            if !connection.sendRTP(UnsafeRawBufferPointer(rebasing: scratch[0..<length])) { sendFailures += 1 }
            index += 1
            sequence &+= 1
        }
        frame += 1
        let due = startedAt + UInt64(frame) * 1_000_000_000 / UInt64(stream.fps)
        let now = monotonicNanoseconds()
        timer?.schedule(afterMilliseconds: due > now ? Int((due - now + 500_000) / 1_000_000) : 0)
    }

    func peerConnection(_ connection: PeerConnection, didChangeState state: PeerTransport.State) {
        if state == .connected { onConnected?() }
    }
    func peerConnection(_ connection: PeerConnection, didReceiveRTP packet: UnsafeMutableRawBufferPointer, media: Int, layer: Int) {}
    func peerConnection(_ connection: PeerConnection, didReceiveRTCP packet: UnsafeMutableRawBufferPointer) {}
}

/// Delay histogram of one worker's subscribers: 10 µs buckets up to 2 s (touched only on the worker).
final class DelayHistogram: @unchecked Sendable {
    static let bucketNanoseconds: UInt64 = 10_000
    static let buckets = 200_000
    var counts = [Int](repeating: 0, count: DelayHistogram.buckets + 1)
    var total = 0

    @inline(__always)
    func record(_ nanoseconds: UInt64) {
        let bucket = Int(min(nanoseconds / Self.bucketNanoseconds, UInt64(Self.buckets)))
        counts[bucket] += 1
        total += 1
    }

    func merge(_ other: DelayHistogram) {
        for i in counts.indices { counts[i] += other.counts[i] }
        total += other.total
    }

    /// The delay at quantile `q` in milliseconds (bucket upper bound).
    func quantile(_ q: Double) -> Double {
        guard total > 0 else { return .nan }
        let target = Int((Double(total) * q).rounded(.up))
        var seen = 0
        for (i, c) in counts.enumerated() {
            seen += c
            if seen >= max(1, target) { return Double(UInt64(i + 1) * Self.bucketNanoseconds) / 1e6 }
        }
        return Double(UInt64(Self.buckets) * Self.bucketNanoseconds) / 1e6
    }
}

/// One subscriber: an answerer `PeerConnection` that receives every m-line the server offers and
/// counts probe packets whose index falls in the measurement window.
final class LoadSubscriber: PeerConnectionDelegate, @unchecked Sendable {
    let worker: MediaWorker
    let connection: PeerConnection
    let histogram: DelayHistogram
    var windowLow: UInt32 = .max
    var windowHigh: UInt32 = .max
    /// The window cut into consecutive sub-windows by stream index: bounds[k] ..< bounds[k+1]
    /// (first = windowLow, last = windowHigh). Set with `setWindows`.
    private(set) var windowBounds: [UInt32] = []
    private(set) var receivedPerWindow: [Int] = []
    private(set) var receivedTotal = 0
    private(set) var receivedInWindow = 0
    private(set) var connected = false
    /// RTP packets that carry no probe (padding, retransmissions of other streams) and RTCP
    /// packets: what the server sends besides the stream, which the tool also has to decrypt.
    private(set) var receivedOtherRTP = 0
    private(set) var receivedRTCP = 0
    /// Delays of the probes received since `takeRecentDelay()` last ran: the warm-up waits on them.
    private var recentDelaySum: UInt64 = 0
    private var recentDelayCount = 0

    init(worker: MediaWorker, certificate: DTLSCertificate, histogram: DelayHistogram) throws {
        self.worker = worker
        self.histogram = histogram
        connection = try PeerConnection(worker: worker, certificate: certificate, answeringOn: ["127.0.0.1"], portRange: nil)
        connection.delegate = self
    }

    /// Answers a server offer (first or renegotiated) receiving everything; call once gathered.
    func answer(_ sdp: String) throws -> String {
        let offer = try SessionDescription(parsing: loopbackOnly(sdp))
        return try connection.answer(offer: offer, mode: .receive, acceptData: true).description
    }

    var srtpProfile: SRTPProfile? { connection.transport.srtpProfile }

    /// The measured window as consecutive sub-windows (`bounds` ascending, at least two).
    func setWindows(_ bounds: [UInt32]) {
        windowBounds = bounds
        receivedPerWindow = Array(repeating: 0, count: max(0, bounds.count - 1))
        windowLow = bounds.first ?? .max
        windowHigh = bounds.last ?? .max
    }

    /// The mean delay in milliseconds of the probes received since the last call (nil: none).
    func takeRecentDelay() -> Double? {
        defer { recentDelaySum = 0; recentDelayCount = 0 }
        return recentDelayCount > 0 ? Double(recentDelaySum) / Double(recentDelayCount) / 1e6 : nil
    }

    func peerConnection(_ connection: PeerConnection, didChangeState state: PeerTransport.State) {
        connected = state == .connected
    }

    func peerConnection(_ connection: PeerConnection, didReceiveRTP packet: UnsafeMutableRawBufferPointer, media: Int, layer: Int) {
        guard let probe = SyntheticVP8.readProbe(UnsafeRawBufferPointer(packet)) else { receivedOtherRTP += 1; return }
        receivedTotal += 1
        let now = monotonicNanoseconds()
        let delay = now > probe.sentAt ? now - probe.sentAt : 0
        recentDelaySum &+= delay
        recentDelayCount += 1
        guard probe.index >= windowLow, probe.index < windowHigh else { return }
        receivedInWindow += 1
        var k = 0
        while k + 2 < windowBounds.count, probe.index >= windowBounds[k + 1] { k += 1 }
        receivedPerWindow[k] += 1
        histogram.record(delay)
    }

    func peerConnection(_ connection: PeerConnection, didReceiveRTCP packet: UnsafeMutableRawBufferPointer) { receivedRTCP += 1 }
}
