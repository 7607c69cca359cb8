/// Why a packet could not be written.
public enum RTPBuildError: Error, Sendable, Equatable {
    /// The caller's buffer is smaller than `serializedLength`.
    case bufferTooSmall(needed: Int)
    /// More than 15 CSRCs, an extension id of 0 (or >255), or an element longer than 255 bytes.
    case invalidField
    /// Padding length must be 0...255.
    case invalidPadding
}

/// Everything needed to write an RTP packet. A value type used by tests, by the SFU for packets it
/// originates (probes, RTX), and by tools. Writes into a caller buffer, so a reused scratch buffer
/// keeps the send path allocation-free (the arrays here are built once, not per packet).
public struct RTPPacketBuilder: Sendable, Equatable {
    public struct Extension: Sendable, Equatable {
        public var id: UInt8
        public var data: [UInt8]
        public init(id: UInt8, data: [UInt8]) {
            self.id = id
            self.data = data
        }
    }

    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    public var csrcs: [UInt32]
    public var extensions: [Extension]
    /// Force the two-byte form even when every element would fit the one-byte form.
    public var forceTwoByteExtensions: Bool
    public var payload: [UInt8]
    /// Total padding bytes including the trailing count byte; 0 = no P bit.
    public var paddingLength: Int

    public init(
        marker: Bool = false, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
        csrcs: [UInt32] = [], extensions: [Extension] = [], forceTwoByteExtensions: Bool = false,
        payload: [UInt8] = [], paddingLength: Int = 0
    ) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.csrcs = csrcs
        self.extensions = extensions
        self.forceTwoByteExtensions = forceTwoByteExtensions
        self.payload = payload
        self.paddingLength = paddingLength
    }

    // MARK: Convenience extension constructors (the encodings the typed readers decode)

    public static func stringExtension(id: UInt8, _ value: String) -> Extension {
        Extension(id: id, data: Array(value.utf8))
    }

    public static func absSendTimeExtension(id: UInt8, _ value: UInt32) -> Extension {
        Extension(id: id, data: [UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }

    public static func transportSequenceNumberExtension(id: UInt8, _ value: UInt16) -> Extension {
        Extension(id: id, data: [UInt8(value >> 8), UInt8(value & 0xFF)])
    }

    public static func audioLevelExtension(id: UInt8, _ value: RTPAudioLevel) -> Extension {
        Extension(id: id, data: [value.byte])
    }

    public static func videoOrientationExtension(id: UInt8, _ value: RTPVideoOrientation) -> Extension {
        Extension(id: id, data: [value.byte])
    }

    // MARK: Writing

    /// One-byte form fits ids 1...14 with 1...16 bytes of data; anything else needs two-byte.
    public var usesTwoByteExtensions: Bool {
        forceTwoByteExtensions || extensions.contains { $0.id == 0 || $0.id > 14 || $0.data.isEmpty || $0.data.count > 16 }
    }

    var extensionBodyLength: Int {
        guard !extensions.isEmpty else { return 0 }
        let perElement = usesTwoByteExtensions ? 2 : 1
        let raw = extensions.reduce(0) { $0 + perElement + $1.data.count }
        return (raw + 3) / 4 * 4
    }

    /// Bytes `write(into:)` will produce.
    public var serializedLength: Int {
        12 + csrcs.count * 4 + (extensions.isEmpty ? 0 : 4 + extensionBodyLength) + payload.count + paddingLength
    }

    /// Writes the packet at the start of `buffer` and returns its length.
    public func write(into buffer: UnsafeMutableRawBufferPointer) throws(RTPBuildError) -> Int {
        guard csrcs.count <= 15, extensions.allSatisfy({ $0.id != 0 && $0.data.count <= 255 }),
              extensionBodyLength / 4 <= Int(UInt16.max) else { throw .invalidField }
        guard (0...255).contains(paddingLength) else { throw .invalidPadding }
        let total = serializedLength
        guard buffer.count >= total else { throw .bufferTooSmall(needed: total) }

        buffer[0] = 0x80 | (paddingLength > 0 ? 0x20 : 0) | (extensions.isEmpty ? 0 : 0x10) | UInt8(csrcs.count)
        buffer[1] = (marker ? 0x80 : 0) | (payloadType & 0x7F)
        buffer.put16(sequenceNumber, at: 2)
        buffer.put32(timestamp, at: 4)
        buffer.put32(ssrc, at: 8)
        var offset = 12
        for csrc in csrcs {
            buffer.put32(csrc, at: offset)
            offset += 4
        }
        if !extensions.isEmpty {
            let twoByte = usesTwoByteExtensions
            let bodyLength = extensionBodyLength
            buffer.put16(twoByte ? RTPHeaderExtensions.twoByteProfile : RTPHeaderExtensions.oneByteProfile, at: offset)
            buffer.put16(UInt16(bodyLength / 4), at: offset + 2)
            offset += 4
            let end = offset + bodyLength
            for element in extensions {
                if twoByte {
                    buffer[offset] = element.id
                    buffer[offset + 1] = UInt8(element.data.count)
                    offset += 2
                } else {
                    buffer[offset] = element.id << 4 | UInt8(element.data.count - 1)
                    offset += 1
                }
                for byte in element.data {
                    buffer[offset] = byte
                    offset += 1
                }
            }
            while offset < end {
                buffer[offset] = 0
                offset += 1
            }
        }
        payload.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + $0.count)]).copyMemory(from: $0) }
        offset += payload.count
        if paddingLength > 0 {
            for i in 0..<(paddingLength - 1) { buffer[offset + i] = 0 }
            buffer[offset + paddingLength - 1] = UInt8(paddingLength)
            offset += paddingLength
        }
        return offset
    }

    /// The packet as a fresh array (tests, control plane).
    public func bytes() throws(RTPBuildError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: serializedLength)
        let result = out.withUnsafeMutableBytes { buffer in
            Result { () throws(RTPBuildError) -> Int in try write(into: buffer) }
        }
        _ = try result.get()
        return out
    }
}

extension RTPPacketBuilder {
    /// Captures a parsed packet's fields (copying extensions and payload), e.g. to build an RTX
    /// packet or to modify a packet in ways that change its length.
    public init(_ packet: RTPPacket) {
        var extensions: [Extension] = []
        for element in packet.headerExtensions {
            extensions.append(Extension(id: element.id, data: Array(element.data)))
        }
        self.init(
            marker: packet.marker, payloadType: packet.payloadType, sequenceNumber: packet.sequenceNumber,
            timestamp: packet.timestamp, ssrc: packet.ssrc,
            csrcs: (0..<packet.csrcCount).compactMap { packet.csrc(at: $0) },
            extensions: extensions, payload: Array(packet.payload), paddingLength: packet.paddingLength)
        // Keep the two-byte form only when it was a choice, so rebuilding is byte-identical.
        if packet.headerExtensions.form == .twoByte, !usesTwoByteExtensions { forceTwoByteExtensions = true }
    }
}
