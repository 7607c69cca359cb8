/// SCTP payload protocol identifiers for WebRTC (RFC 8831 section 8, RFC 8832 section 8.1).
public enum DataChannelPPID {
    /// DCEP: DATA_CHANNEL_OPEN / DATA_CHANNEL_ACK.
    public static let dcep: UInt32 = 50
    public static let string: UInt32 = 51
    /// Deprecated partial binary (not produced; dropped on receipt).
    public static let binaryPartial: UInt32 = 52
    public static let binary: UInt32 = 53
    /// Deprecated partial string (not produced; dropped on receipt).
    public static let stringPartial: UInt32 = 54
    /// An empty string, sent as one zero byte.
    public static let stringEmpty: UInt32 = 56
    /// An empty binary message, sent as one zero byte.
    public static let binaryEmpty: UInt32 = 57
}

/// DCEP messages (RFC 8832 section 5).
public enum DataChannelControlMessage: Sendable, Equatable {
    case open(DataChannelOpen)
    case ack

    public static let openType: UInt8 = 0x03
    public static let ackType: UInt8 = 0x02

    /// Parses a PPID 50 payload; nil when malformed or unknown (never traps).
    public init?(parsing bytes: UnsafeRawBufferPointer) {
        guard let type = bytes.first else { return nil }
        switch type {
        case Self.ackType:
            self = .ack
        case Self.openType:
            guard let open = DataChannelOpen(parsing: bytes) else { return nil }
            self = .open(open)
        default:
            return nil
        }
    }

    public func serialized() -> [UInt8] {
        switch self {
        case .ack: return [Self.ackType]
        case .open(let open): return open.serialized()
        }
    }
}

/// DATA_CHANNEL_OPEN (RFC 8832 section 5.1).
public struct DataChannelOpen: Sendable, Equatable {
    /// Channel types; `0x80` set = unordered.
    public static let reliable: UInt8 = 0x00
    public static let partialReliableRexmit: UInt8 = 0x01
    public static let partialReliableTimed: UInt8 = 0x02
    public static let unorderedFlag: UInt8 = 0x80

    public var channelType: UInt8
    public var priority: UInt16
    /// Retransmissions (rexmit) or milliseconds (timed); ignored for reliable channels.
    public var reliabilityParameter: UInt32
    public var label: String
    public var `protocol`: String

    public init(channelType: UInt8, priority: UInt16, reliabilityParameter: UInt32, label: String, protocol: String) {
        self.channelType = channelType
        self.priority = priority
        self.reliabilityParameter = reliabilityParameter
        self.label = label
        self.protocol = `protocol`
    }

    /// The OPEN message announcing a channel with these options.
    public init(label: String, options: DataChannelOptions) {
        var type: UInt8 = Self.reliable
        var parameter: UInt32 = 0
        if let n = options.maxRetransmits {
            type = Self.partialReliableRexmit
            parameter = UInt32(n)
        } else if let ms = options.maxPacketLifeTime {
            type = Self.partialReliableTimed
            parameter = UInt32(ms)
        }
        if !options.ordered { type |= Self.unorderedFlag }
        self.init(channelType: type, priority: options.priority, reliabilityParameter: parameter,
                  label: label, protocol: options.protocol)
    }

    /// The channel options this message announces.
    public var options: DataChannelOptions {
        var options = DataChannelOptions(ordered: channelType & Self.unorderedFlag == 0, protocol: self.protocol,
                                         priority: priority)
        switch channelType & ~Self.unorderedFlag {
        case Self.partialReliableRexmit:
            options.maxRetransmits = UInt16(clamping: reliabilityParameter)
        case Self.partialReliableTimed:
            options.maxPacketLifeTime = UInt16(clamping: reliabilityParameter)
        default:
            break
        }
        return options
    }

    public init?(parsing bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 12, bytes[0] == DataChannelControlMessage.openType else { return nil }
        func u16(_ i: Int) -> UInt16 { UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]) }
        let type = bytes[1]
        switch type & ~Self.unorderedFlag {
        case Self.reliable, Self.partialReliableRexmit, Self.partialReliableTimed: break
        default: return nil
        }
        let parameter = UInt32(u16(4)) << 16 | UInt32(u16(6))
        let labelLength = Int(u16(8)), protocolLength = Int(u16(10))
        guard bytes.count >= 12 + labelLength + protocolLength else { return nil }
        let label = String(decoding: bytes[12..<12 + labelLength], as: UTF8.self)
        let proto = String(decoding: bytes[(12 + labelLength)..<(12 + labelLength + protocolLength)], as: UTF8.self)
        self.init(channelType: type, priority: u16(2), reliabilityParameter: parameter, label: label, protocol: proto)
    }

    public func serialized() -> [UInt8] {
        let label = Array(self.label.utf8.prefix(Int(UInt16.max)))
        let proto = Array(self.protocol.utf8.prefix(Int(UInt16.max)))
        var out: [UInt8] = [DataChannelControlMessage.openType, channelType,
                            UInt8(priority >> 8), UInt8(priority & 0xff)]
        out.reserveCapacity(12 + label.count + proto.count)
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: reliabilityParameter >> UInt32(shift))) }
        out += [UInt8(label.count >> 8), UInt8(label.count & 0xff), UInt8(proto.count >> 8), UInt8(proto.count & 0xff)]
        out += label
        out += proto
        return out
    }
}
