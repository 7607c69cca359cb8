/// The link's control channel: what the edge asks of the origin (and the origin's answers). It
/// rides the same sealed datagrams as media. UDP may lose a message, so every message states a
/// whole fact (not a delta) and the edge repeats its full subscription state on a timer
/// (`EdgeLinkSubscriptions.refreshMessages`): a lost `wantLayers` is healed by the next refresh.
public enum EdgeLinkControl: Equatable, Sendable {
    /// The edge wants `track` of the link's room, and will know its packets by `subscription`.
    case subscribe(subscription: UInt16, track: String)
    /// The edge no longer has viewers of it.
    case unsubscribe(subscription: UInt16)
    /// The highest layer any of the edge's viewers wants (nil: none; the origin may stop sending
    /// it, and its dynacast counts this edge as one more subscriber of that layer).
    case wantLayers(subscription: UInt16, highest: UInt8?)
    /// A viewer on the edge needs a keyframe of `layer` (PLI/FIR, coalesced on the edge).
    case keyframe(subscription: UInt16, layer: UInt8)
    /// The origin's answer to `subscribe`: the track's shape, so the edge can publish a mirror
    /// like the original; or that the track is not (or no longer) there.
    case subscribed(subscription: UInt16, shape: EdgeLinkTrackShape)
    case trackGone(subscription: UInt16)
    /// A sender report of `layer` (origin -> edge): the mirror's viewers need it for A/V sync.
    case senderReport(subscription: UInt16, layer: UInt8, ntp: UInt64, rtpTimestamp: UInt32)

    enum Opcode: UInt8 {
        case subscribe = 1, unsubscribe, wantLayers, keyframe, subscribed, trackGone, senderReport
    }

    public enum DecodeError: Error, Equatable {
        case truncated
        case unknownOpcode(UInt8)
        case badTrackName
    }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func put16(_ value: UInt16) { out.append(UInt8(value >> 8)); out.append(UInt8(truncatingIfNeeded: value)) }
        func put32(_ value: UInt32) { put16(UInt16(value >> 16)); put16(UInt16(truncatingIfNeeded: value)) }
        func putString(_ value: String) {
            let bytes = Array(value.utf8.prefix(1024))
            put16(UInt16(bytes.count)); out += bytes
        }
        switch self {
        case .subscribe(let subscription, let track):
            out.append(Opcode.subscribe.rawValue); put16(subscription); putString(track)
        case .unsubscribe(let subscription):
            out.append(Opcode.unsubscribe.rawValue); put16(subscription)
        case .wantLayers(let subscription, let highest):
            out.append(Opcode.wantLayers.rawValue); put16(subscription); out.append(highest ?? 0xFF)
        case .keyframe(let subscription, let layer):
            out.append(Opcode.keyframe.rawValue); put16(subscription); out.append(layer)
        case .subscribed(let subscription, let shape):
            out.append(Opcode.subscribed.rawValue); put16(subscription)
            out.append(shape.isVideo ? 1 : 0); putString(shape.codecName); out.append(shape.payloadType)
            put32(shape.clockRate); out.append(shape.channels); putString(shape.fmtp); put32(shape.ssrc)
            out.append(shape.audioLevelExtensionID)
            let layers = shape.layers.prefix(8)
            out.append(UInt8(layers.count))
            for layer in layers { put16(layer.width); put16(layer.height) }
        case .trackGone(let subscription):
            out.append(Opcode.trackGone.rawValue); put16(subscription)
        case .senderReport(let subscription, let layer, let ntp, let rtpTimestamp):
            out.append(Opcode.senderReport.rawValue); put16(subscription); out.append(layer)
            put32(UInt32(ntp >> 32)); put32(UInt32(truncatingIfNeeded: ntp)); put32(rtpTimestamp)
        }
        return out
    }

    public init(decoding bytes: [UInt8]) throws(DecodeError) {
        var offset = 0
        func byte() throws(DecodeError) -> UInt8 {
            guard offset < bytes.count else { throw .truncated }
            defer { offset += 1 }
            return bytes[offset]
        }
        func u16() throws(DecodeError) -> UInt16 { UInt16(try byte()) << 8 | UInt16(try byte()) }
        func u32() throws(DecodeError) -> UInt32 { UInt32(try u16()) << 16 | UInt32(try u16()) }
        func string() throws(DecodeError) -> String {
            let length = Int(try u16())
            guard offset + length <= bytes.count else { throw .truncated }
            guard let value = String(validating: bytes[offset..<offset + length], as: UTF8.self) else {
                throw .badTrackName
            }
            offset += length
            return value
        }
        let code = try byte()
        guard let opcode = Opcode(rawValue: code) else { throw .unknownOpcode(code) }
        let subscription = try u16()
        switch opcode {
        case .subscribe:
            self = .subscribe(subscription: subscription, track: try string())
        case .unsubscribe: self = .unsubscribe(subscription: subscription)
        case .wantLayers:
            let highest = try byte()
            self = .wantLayers(subscription: subscription, highest: highest == 0xFF ? nil : highest)
        case .keyframe: self = .keyframe(subscription: subscription, layer: try byte())
        case .subscribed:
            let isVideo = try byte() != 0
            let codecName = try string()
            let payloadType = try byte()
            let clockRate = try u32()
            let channels = try byte()
            let fmtp = try string()
            let ssrc = try u32()
            let audioLevel = try byte()
            let count = Int(try byte())
            var layers: [(width: UInt16, height: UInt16)] = []
            for _ in 0..<count { layers.append((try u16(), try u16())) }
            self = .subscribed(subscription: subscription, shape: EdgeLinkTrackShape(
                isVideo: isVideo, codecName: codecName, payloadType: payloadType, clockRate: clockRate,
                channels: channels, fmtp: fmtp, ssrc: ssrc, audioLevelExtensionID: audioLevel, layers: layers))
        case .trackGone: self = .trackGone(subscription: subscription)
        case .senderReport:
            let layer = try byte()
            let ntp = UInt64(try u32()) << 32 | UInt64(try u32())
            self = .senderReport(subscription: subscription, layer: layer, ntp: ntp, rtpTimestamp: try u32())
        }
    }
}
