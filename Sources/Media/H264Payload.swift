/// H.264 NAL unit types the SFU cares about (ITU-T H.264 Table 7-1, RFC 6184 §5.2).
public enum H264NALUnitType {
    public static let nonIDRSlice: UInt8 = 1
    public static let idrSlice: UInt8 = 5
    public static let sei: UInt8 = 6
    public static let sps: UInt8 = 7
    public static let pps: UInt8 = 8
    public static let accessUnitDelimiter: UInt8 = 9
    public static let stapA: UInt8 = 24
    public static let stapB: UInt8 = 25
    public static let mtap16: UInt8 = 26
    public static let mtap24: UInt8 = 27
    public static let fuA: UInt8 = 28
    public static let fuB: UInt8 = 29

    /// IDR slices and parameter sets: a decoder can start from a packet carrying them.
    public static func isKeyframeStart(_ type: UInt8) -> Bool {
        type == idrSlice || type == sps || type == pps
    }
}

/// How an RTP payload carries H.264 (RFC 6184 §5.4, non-interleaved mode as used by WebRTC).
public enum H264Packetization: Sendable, Equatable {
    /// The payload is one complete NAL unit of this type (1...23).
    case singleNAL(type: UInt8)
    /// Several NAL units, each prefixed by a 16-bit size.
    case stapA
    /// One fragment of a NAL unit. `nalHeader` is the reconstructed header of the original unit
    /// (F and NRI from the FU indicator, type from the FU header).
    case fuA(start: Bool, end: Bool, nalHeader: UInt8)

    /// The NAL unit type (for FU-A, the fragmented unit's type).
    public var nalUnitType: UInt8? {
        switch self {
        case .singleNAL(let type): type
        case .stapA: nil
        case .fuA(_, _, let header): header & 0x1F
        }
    }
}

/// A validated, non-copying view of one H.264 RTP payload.
public struct H264Payload {
    public let payload: UnsafeRawBufferPointer
    public let packetization: H264Packetization

    /// Validates the structure (STAP-A sizes add up, FU-A has its header) so the walkers below can
    /// trust it.
    public init(_ payload: UnsafeRawBufferPointer) throws(CodecParseError) {
        guard payload.count >= 1 else { throw .truncated }
        let header = payload[0]
        guard header & 0x80 == 0 else { throw .malformed }  // forbidden_zero_bit
        let type = header & 0x1F
        switch type {
        case 1...23:
            packetization = .singleNAL(type: type)
        case H264NALUnitType.stapA:
            var offset = 1
            guard payload.count > 1 else { throw .truncated }
            while offset < payload.count {
                guard offset + 2 <= payload.count else { throw .truncated }
                let size = Int(payload.u16(offset))
                guard size > 0 else { throw .malformed }
                guard offset + 2 + size <= payload.count else { throw .truncated }
                offset += 2 + size
            }
            packetization = .stapA
        case H264NALUnitType.fuA:
            guard payload.count >= 3 else { throw .truncated }
            let fu = payload[1]
            let start = fu & 0x80 != 0
            let end = fu & 0x40 != 0
            guard !(start && end) else { throw .malformed }
            packetization = .fuA(start: start, end: end, nalHeader: (header & 0xE0) | (fu & 0x1F))
        case 0:
            throw .malformed
        default:
            throw .unsupported
        }
        self.payload = payload
    }

    /// Calls `body` with each complete NAL unit in the packet (header included): the payload
    /// itself for a single NAL, each aggregated unit for STAP-A, nothing for FU-A (a fragment is
    /// not a complete unit; see `fragment`).
    public func forEachNALUnit(_ body: (UnsafeRawBufferPointer) -> Void) {
        switch packetization {
        case .singleNAL:
            body(payload)
        case .stapA:
            var offset = 1
            while offset + 2 <= payload.count {
                let size = Int(payload.u16(offset))
                body(payload.slice(offset + 2, size))
                offset += 2 + size
            }
        case .fuA:
            break
        }
    }

    /// For FU-A: the fragment's data after the two FU bytes. A depacketizer writes
    /// `nalHeader` once at the start fragment, then appends every fragment's data.
    public var fragment: UnsafeRawBufferPointer? {
        guard case .fuA = packetization else { return nil }
        return payload.slice(2, payload.count - 2)
    }

    /// Types of the NAL units this packet carries or starts (for FU-A only the start fragment
    /// reports its type, since a middle fragment cannot begin decoding).
    public func forEachNALUnitType(_ body: (UInt8) -> Void) {
        switch packetization {
        case .singleNAL(let type):
            body(type)
        case .stapA:
            forEachNALUnit { unit in body(unit[0] & 0x1F) }
        case .fuA(let start, _, let header):
            if start { body(header & 0x1F) }
        }
    }

    /// True when the packet carries an IDR slice or an SPS/PPS (a decoder can start here).
    public var isKeyframe: Bool {
        var found = false
        forEachNALUnitType { if H264NALUnitType.isKeyframeStart($0) { found = true } }
        return found
    }

    /// Convenience: keyframe check that returns false for malformed payloads instead of throwing.
    public static func isKeyframe(_ payload: UnsafeRawBufferPointer) -> Bool {
        (try? H264Payload(payload))?.isKeyframe ?? false
    }
}

extension H264Payload {
    /// Builds a STAP-A payload from complete NAL units (e.g. SPS + PPS + IDR in tests); nil when
    /// a unit is empty or longer than the 16-bit size field allows.
    public static func stapA(_ units: [[UInt8]]) -> [UInt8]? {
        guard !units.isEmpty, units.allSatisfy({ !$0.isEmpty && $0.count <= Int(UInt16.max) }) else { return nil }
        // NRI of the aggregate is the maximum of the units' NRI (RFC 6184 §5.7.1).
        let nri = units.map { ($0.first ?? 0) & 0x60 }.max() ?? 0
        var out: [UInt8] = [nri | H264NALUnitType.stapA]
        for unit in units {
            out.append16(UInt16(unit.count))
            out.append(contentsOf: unit)
        }
        return out
    }

    /// Splits one NAL unit into FU-A payloads of at most `maxPayloadSize` bytes each.
    public static func fuA(_ unit: [UInt8], maxPayloadSize: Int) -> [[UInt8]] {
        guard let header = unit.first, maxPayloadSize > 2 else { return [] }
        let data = unit.dropFirst()
        let chunk = maxPayloadSize - 2
        var fragments: [[UInt8]] = []
        var index = data.startIndex
        while index < data.endIndex {
            let end = min(index + chunk, data.endIndex)
            var fu = header & 0x1F
            if index == data.startIndex { fu |= 0x80 }
            if end == data.endIndex { fu |= 0x40 }
            fragments.append([(header & 0xE0) | H264NALUnitType.fuA, fu] + data[index..<end])
            index = end
        }
        return fragments
    }
}
