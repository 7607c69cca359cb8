import Media

/// H.264 over RTP (RFC 6184, non-interleaved mode): single NAL units, STAP-A aggregates and FU-A
/// fragments become one access unit per RTP timestamp, each NAL unit prefixed as the container
/// wants (4-byte length for MP4/Matroska, start code for raw Annex-B).
///
/// The latest SPS and PPS are kept for the container's decoder configuration (avcC). A frame counts
/// as a keyframe only when it carries an IDR slice and both parameter sets are known, since a
/// decoder cannot start without them.
public final class H264Depacketizer: Depacketizer {
    public enum OutputFormat: Sendable {
        /// Each NAL unit prefixed by its 4-byte big-endian length (ISO 14496-15, MP4 and Matroska).
        case lengthPrefixed
        /// Each NAL unit prefixed by the start code 00 00 00 01 (ITU-T H.264 Annex B).
        case annexB
    }

    public let outputFormat: OutputFormat
    /// The most recent sequence and picture parameter sets (NAL header included).
    public private(set) var sequenceParameterSet: [UInt8]?
    public private(set) var pictureParameterSet: [UInt8]?

    private var assembly = VideoFrameAssembly()
    /// Buffer index of the NAL unit being rebuilt from FU-A fragments (its prefix), or nil.
    private var fragmentedUnitStart: Int?
    private var frameHasIDR = false

    public init(outputFormat: OutputFormat = .lengthPrefixed) {
        self.outputFormat = outputFormat
    }

    public var needsKeyframe: Bool { assembly.waitingForKeyframe }
    public var framesEmitted: Int { assembly.framesEmitted }
    public var framesDropped: Int { assembly.framesDropped }

    public func push(_ packet: RTPPacket, lostBefore: Int, emit: (EncodedFrame) -> Void) {
        if lostBefore > 0 {
            assembly.noteLoss()
            fragmentedUnitStart = nil
        }
        if assembly.inFrame, packet.timestamp != assembly.timestamp { closeFrame(emit: emit) }
        if assembly.prepare(for: packet.timestamp, emit: emit) {
            frameHasIDR = false
            fragmentedUnitStart = nil
        }
        guard let payload = try? H264Payload(packet.payload) else {
            // STAP-B, MTAP and FU-B belong to interleaved mode, which WebRTC does not use.
            assembly.markBroken()
            if packet.marker { closeFrame(emit: emit) }
            return
        }
        switch payload.packetization {
        case .singleNAL, .stapA:
            if fragmentedUnitStart != nil { abandonFragmentedUnit() }
            payload.forEachNALUnit { appendUnit($0) }
        case .fuA(let start, let end, let header):
            if start {
                if fragmentedUnitStart != nil { abandonFragmentedUnit() }
                fragmentedUnitStart = assembly.count
                writePrefix()
                assembly.append(header)
                noteUnitType(header & 0x1F)
            } else if fragmentedUnitStart == nil {
                // A middle or end fragment whose start we never saw.
                assembly.markBroken()
            }
            if let fragment = payload.fragment, fragmentedUnitStart != nil { assembly.append(fragment) }
            if end, let unitStart = fragmentedUnitStart {
                fragmentedUnitStart = nil
                completeUnit(prefixAt: unitStart)
            }
        }
        if packet.marker { closeFrame(emit: emit) }
    }

    public func reset() {
        assembly.reset()
        fragmentedUnitStart = nil
        frameHasIDR = false
    }

    // MARK: Private

    private func closeFrame(emit: (EncodedFrame) -> Void) {
        if fragmentedUnitStart != nil { abandonFragmentedUnit() }
        assembly.isKeyframe = frameHasIDR && sequenceParameterSet != nil && pictureParameterSet != nil
        assembly.finish(emit: emit)
    }

    private func abandonFragmentedUnit() {
        fragmentedUnitStart = nil
        assembly.markBroken()
    }

    private func writePrefix() {
        // For length prefixes the real length is patched in when the unit is complete.
        assembly.append(0); assembly.append(0); assembly.append(0)
        assembly.append(outputFormat == .annexB ? 1 : 0)
    }

    private func appendUnit(_ unit: UnsafeRawBufferPointer) {
        guard !unit.isEmpty else { return }
        let start = assembly.count
        writePrefix()
        assembly.append(unit)
        noteUnitType(unit[0] & 0x1F)
        completeUnit(prefixAt: start)
    }

    private func noteUnitType(_ type: UInt8) {
        if type == H264NALUnitType.idrSlice { frameHasIDR = true }
    }

    /// Fills in the length prefix and remembers parameter sets.
    private func completeUnit(prefixAt start: Int) {
        guard !assembly.broken else { return }
        let length = assembly.count - start - 4
        if outputFormat == .lengthPrefixed {
            assembly.patch(UInt8(truncatingIfNeeded: length >> 24), at: start)
            assembly.patch(UInt8(truncatingIfNeeded: length >> 16), at: start + 1)
            assembly.patch(UInt8(truncatingIfNeeded: length >> 8), at: start + 2)
            assembly.patch(UInt8(truncatingIfNeeded: length), at: start + 3)
        }
        guard length > 0 else { return }
        let unit = assembly.buffer[(start + 4)...]
        switch unit.first! & 0x1F {
        case H264NALUnitType.sps:
            // Parameter sets rarely change: copy only when they do.
            if sequenceParameterSet.map({ !$0.elementsEqual(unit) }) ?? true { sequenceParameterSet = Array(unit) }
        case H264NALUnitType.pps:
            if pictureParameterSet.map({ !$0.elementsEqual(unit) }) ?? true { pictureParameterSet = Array(unit) }
        default:
            break
        }
    }
}
