import Testing
import WebRTC

/// One side of a data channel test: a `DataChannelManager` plus what its channels saw.
/// Loop-confined to `worker` (touch it only inside `worker.run`/`execute`).
final class DataChannelEndpoint: @unchecked Sendable {
    struct RemoteChannel: Sendable, Equatable {
        var id: UInt16
        var label: String
        var ordered: Bool
        var maxRetransmits: UInt16?
        var `protocol`: String
    }

    let worker: MediaWorker
    let manager: DataChannelManager
    var channels: [String: DataChannel] = [:]
    var received: [String: [DataChannelMessage]] = [:]
    var opened: [String] = []
    var closed: [String] = []
    var remote: [RemoteChannel] = []
    var states: [SCTPAssociation.State] = []

    init(worker: MediaWorker, role: DTLSTransport.Role, configuration: SCTPAssociation.Configuration = .init()) throws {
        self.worker = worker
        manager = try DataChannelManager(worker: worker, role: role, configuration: configuration)
        manager.onDataChannel = { [unowned self] channel in
            self.remote.append(RemoteChannel(id: channel.id, label: channel.label, ordered: channel.ordered,
                                             maxRetransmits: channel.maxRetransmits, protocol: channel.protocol))
            self.adopt(channel)
            self.opened.append(channel.label)  // in-band channels arrive open
        }
        manager.onStateChange = { [unowned self] in self.states.append($0) }
    }

    private func adopt(_ channel: DataChannel) {
        let label = channel.label
        channels[label] = channel
        channel.onOpen = { [unowned self] in self.opened.append(label) }
        channel.onMessage = { [unowned self] in self.received[label, default: []].append($0) }
        channel.onClose = { [unowned self] in self.closed.append(label) }
    }

    @discardableResult
    func open(_ label: String, _ options: DataChannelOptions = .init()) throws -> UInt16 {
        let channel = try manager.createDataChannel(label: label, options: options)
        adopt(channel)
        return channel.id
    }

    func send(_ label: String, _ message: DataChannelMessage) throws {
        try channels[label]!.send(message)
    }

    var connected: Bool { manager.state == .connected }
    func messages(_ label: String) -> [DataChannelMessage] { received[label] ?? [] }
    func isOpen(_ label: String) -> Bool { opened.contains(label) }
}

/// Bytes with a recognisable pattern.
func pattern(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
}

/// Opens `_reliable` and `_lossy` on `a` and checks everything LiveKit needs from them, both ways.
/// `a` must be the DTLS client (even stream ids).
func exerciseLiveKitChannels(worker wa: MediaWorker, _ a: DataChannelEndpoint,
                             worker wb: MediaWorker, _ b: DataChannelEndpoint) async throws {
    let ids = try await wa.run {
        [try a.open("_reliable", DataChannelOptions(ordered: true)),
         try a.open("_lossy", DataChannelOptions(ordered: false, maxRetransmits: 0))]
    }
    #expect(ids == [0, 2])
    try await waitUntil("channels open on both sides") {
        let ao = try await wa.run { a.isOpen("_reliable") && a.isOpen("_lossy") }
        let bo = try await wb.run { b.isOpen("_reliable") && b.isOpen("_lossy") }
        return ao && bo
    }
    let remote = try await wb.run { b.remote }
    #expect(remote == [
        .init(id: 0, label: "_reliable", ordered: true, maxRetransmits: nil, protocol: ""),
        .init(id: 2, label: "_lossy", ordered: false, maxRetransmits: 0, protocol: ""),
    ])

    // a -> b: many small ordered messages, strings, empties, and large ones.
    let small: [DataChannelMessage] = (0..<200).map { .binary(pattern(1 + $0 % 50, seed: UInt8($0))) }
    let large64 = pattern(65_536 + 1234, seed: 7)
    let large200 = pattern(200_000, seed: 9)
    let sentReliable: [DataChannelMessage] = small + [.text("hello, sluice ✓"), .text(""), .binary([]),
                                                      .binary(large64), .binary(large200), .text("last")]
    let sentLossy: [DataChannelMessage] = (0..<20).map { .text("lossy \($0)") }
    try await wa.run {
        for m in sentReliable { try a.send("_reliable", m) }
        for m in sentLossy { try a.send("_lossy", m) }
    }
    // b -> a on the in-band channels.
    let replies: [DataChannelMessage] = [.text("pong"), .binary(pattern(100_000, seed: 3)), .binary([1, 2, 3])]
    try await wb.run {
        for m in replies { try b.send("_reliable", m) }
        try b.send("_lossy", .binary([42]))
    }
    try await waitUntil("messages delivered", seconds: 15) {
        let nb = try await wb.run { (b.messages("_reliable").count, b.messages("_lossy").count) }
        let na = try await wa.run { (a.messages("_reliable").count, a.messages("_lossy").count) }
        return nb.0 == sentReliable.count && nb.1 == sentLossy.count && na.0 == replies.count && na.1 == 1
    }
    let gotReliable = try await wb.run { b.messages("_reliable") }
    #expect(gotReliable == sentReliable, "\(describeDifference(gotReliable, sentReliable))")  // complete and in order
    let gotLossy = try await wb.run { b.messages("_lossy") }
    #expect(Set(gotLossy.map { "\($0)" }) == Set(sentLossy.map { "\($0)" }))  // lossless link: all arrive
    #expect(try await wa.run { a.messages("_reliable") } == replies)
    #expect(try await wa.run { a.messages("_lossy") } == [.binary([42])])

    // Closing resets the stream; both sides see the channel close, the other one keeps working.
    try await wa.run { a.channels["_lossy"]!.close() }
    try await waitUntil("lossy closed on both sides") {
        let ca = try await wa.run { a.closed }
        let cb = try await wb.run { b.closed }
        return ca == ["_lossy"] && cb == ["_lossy"]
    }
    try await wb.run { try b.send("_reliable", .text("still here")) }
    try await waitUntil("reliable still works") {
        try await wa.run { a.messages("_reliable").last == .text("still here") }
    }
    // The freed id is reused by the next channel.
    let reused = try await wa.run { try a.open("_data_track", DataChannelOptions(ordered: false, maxRetransmits: 0)) }
    #expect(reused == 2)
    try await waitUntil("third channel") { try await wb.run { b.isOpen("_data_track") } }
}

/// A short account of where two message lists differ (the lists themselves are too big to print).
func describeDifference(_ got: [DataChannelMessage], _ expected: [DataChannelMessage]) -> String {
    func brief(_ m: DataChannelMessage) -> String {
        switch m {
        case .text(let t): return "text(\(t.prefix(20)))"
        case .binary(let b): return "binary(\(b.count): \(b.prefix(4)))"
        }
    }
    var lines = ["got \(got.count), expected \(expected.count)"]
    for i in 0..<max(got.count, expected.count) {
        let g = i < got.count ? got[i] : nil, e = i < expected.count ? expected[i] : nil
        if g != e { lines.append("#\(i): got \(g.map(brief) ?? "-"), expected \(e.map(brief) ?? "-")") }
        if lines.count > 8 { break }
    }
    return lines.joined(separator: "; ")
}
