/// Any RTCP packet this layer understands, parsed into a value. Compound packets parse into an
/// array of these. Types and formats we do not model (APP, XR, other feedback) are kept as
/// `.other` so nothing is lost when forwarding or logging.
///
/// These values allocate (arrays), which is fine for RTCP's rate; for per-packet work on the
/// media thread iterate `RTCPCompoundIterator` views and use the view-level helpers instead.
public enum RTCPPacket: Sendable, Equatable {
    case senderReport(RTCPSenderReport)
    case receiverReport(RTCPReceiverReport)
    case sourceDescription(RTCPSourceDescription)
    case goodbye(RTCPGoodbye)
    case pictureLossIndication(RTCPPictureLossIndication)
    case fullIntraRequest(RTCPFullIntraRequest)
    case genericNACK(RTCPGenericNACK)
    case receiverEstimatedMaxBitrate(RTCPReceiverEstimatedMaxBitrate)
    case transportCC(TransportCCFeedback)
    case other(RTCPRawPacket)

    public init(_ view: RTCPPacketView) throws(RTCPParseError) {
        switch (view.packetType, view.format) {
        case (RTCPPacketType.senderReport, _):
            self = .senderReport(try RTCPSenderReport(view))
        case (RTCPPacketType.receiverReport, _):
            self = .receiverReport(try RTCPReceiverReport(view))
        case (RTCPPacketType.sourceDescription, _):
            self = .sourceDescription(try RTCPSourceDescription(view))
        case (RTCPPacketType.goodbye, _):
            self = .goodbye(try RTCPGoodbye(view))
        case (RTCPPacketType.payloadFeedback, RTCPPictureLossIndication.format):
            self = .pictureLossIndication(try RTCPPictureLossIndication(view))
        case (RTCPPacketType.payloadFeedback, RTCPFullIntraRequest.format):
            self = .fullIntraRequest(try RTCPFullIntraRequest(view))
        case (RTCPPacketType.payloadFeedback, RTCPReceiverEstimatedMaxBitrate.format)
        where RTCPReceiverEstimatedMaxBitrate.isREMB(view):
            self = .receiverEstimatedMaxBitrate(try RTCPReceiverEstimatedMaxBitrate(view))
        case (RTCPPacketType.transportFeedback, RTCPGenericNACK.format):
            self = .genericNACK(try RTCPGenericNACK(view))
        case (RTCPPacketType.transportFeedback, TransportCCFeedback.format):
            self = .transportCC(try TransportCCFeedback(view))
        default:
            self = .other(RTCPRawPacket(view))
        }
    }

    /// Parses every packet of a compound packet; fails on the first malformed one.
    public static func parseCompound(_ bytes: UnsafeRawBufferPointer) throws(RTCPParseError) -> [RTCPPacket] {
        var iterator = RTCPCompoundIterator(bytes)
        var packets: [RTCPPacket] = []
        while let view = iterator.next() {
            packets.append(try RTCPPacket(view))
        }
        if let error = iterator.error { throw error }
        return packets
    }

    public static func parseCompound(_ bytes: [UInt8]) throws(RTCPParseError) -> [RTCPPacket] {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(RTCPParseError) -> [RTCPPacket] in try parseCompound(buffer) }
        }
        return try result.get()
    }

    public func write(to out: inout [UInt8]) {
        switch self {
        case .senderReport(let p): p.write(to: &out)
        case .receiverReport(let p): p.write(to: &out)
        case .sourceDescription(let p): p.write(to: &out)
        case .goodbye(let p): p.write(to: &out)
        case .pictureLossIndication(let p): p.write(to: &out)
        case .fullIntraRequest(let p): p.write(to: &out)
        case .genericNACK(let p): p.write(to: &out)
        case .receiverEstimatedMaxBitrate(let p): p.write(to: &out)
        case .transportCC(let p): p.write(to: &out)
        case .other(let p): p.write(to: &out)
        }
    }

    /// Serializes packets back to back into one compound packet.
    public static func serialize(_ packets: [RTCPPacket]) -> [UInt8] {
        var out: [UInt8] = []
        for packet in packets { packet.write(to: &out) }
        return out
    }
}

/// An RTCP packet kept as its header fields plus body bytes (APP, XR, unknown feedback).
public struct RTCPRawPacket: Sendable, Equatable {
    public var count: UInt8
    public var packetType: UInt8
    /// Body without padding.
    public var body: [UInt8]

    public init(count: UInt8, packetType: UInt8, body: [UInt8]) {
        self.count = count
        self.packetType = packetType
        self.body = body
    }

    public init(_ view: RTCPPacketView) {
        self.init(count: view.count, packetType: view.packetType, body: Array(view.body))
    }

    public func write(to out: inout [UInt8]) {
        let start = RTCPWriter.beginPacket(count: count, packetType: packetType, to: &out)
        out.append(contentsOf: body)
        RTCPWriter.endPacket(start: start, to: &out)
    }
}
