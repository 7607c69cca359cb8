/// The few fields of an H.264 sequence parameter set (ITU-T H.264 §7.3.2.1.1) a container header
/// needs: profile, level and the cropped picture size. Parsed once per recording, not per packet.
public struct H264SequenceParameterSet: Sendable, Equatable {
    public var profileIDC: UInt8
    public var constraintFlags: UInt8
    public var levelIDC: UInt8
    public var width: Int
    public var height: Int

    /// Parses `unit` (an SPS NAL unit, header byte included); nil when it is not one or is cut short.
    public init?(_ unit: [UInt8]) {
        guard unit.count >= 4, unit[0] & 0x1F == 7 else { return nil }
        var reader = ExpGolombReader(removingEmulationPrevention: unit.dropFirst())
        guard let profile = reader.bits(8), let constraints = reader.bits(8), let level = reader.bits(8),
              reader.unsigned() != nil else { return nil }
        profileIDC = UInt8(profile)
        constraintFlags = UInt8(constraints)
        levelIDC = UInt8(level)

        var chromaFormat = 1
        var separateColourPlanes = false
        if [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].contains(profile) {
            guard let format = reader.unsigned(), format <= 3 else { return nil }
            chromaFormat = format
            if format == 3 { separateColourPlanes = reader.bits(1) == 1 }
            guard reader.unsigned() != nil, reader.unsigned() != nil, reader.bits(1) != nil,
                  let scalingMatrixPresent = reader.bits(1) else { return nil }
            if scalingMatrixPresent == 1 {
                for list in 0..<(format == 3 ? 12 : 8) {
                    guard let present = reader.bits(1) else { return nil }
                    if present == 1, !reader.skipScalingList(size: list < 6 ? 16 : 64) { return nil }
                }
            }
        }
        guard reader.unsigned() != nil, let pocType = reader.unsigned() else { return nil }
        if pocType == 0 {
            guard reader.unsigned() != nil else { return nil }
        } else if pocType == 1 {
            guard reader.bits(1) != nil, reader.signed() != nil, reader.signed() != nil,
                  let cycle = reader.unsigned(), cycle <= 255 else { return nil }
            for _ in 0..<cycle where reader.signed() == nil { return nil }
        }
        guard reader.unsigned() != nil, reader.bits(1) != nil,
              let widthInMacroblocks = reader.unsigned(), let heightInMapUnits = reader.unsigned(),
              let frameMacroblocksOnly = reader.bits(1) else { return nil }
        if frameMacroblocksOnly == 0, reader.bits(1) == nil { return nil }
        guard reader.bits(1) != nil, let cropping = reader.bits(1) else { return nil }
        var crop = (left: 0, right: 0, top: 0, bottom: 0)
        if cropping == 1 {
            guard let l = reader.unsigned(), let r = reader.unsigned(), let t = reader.unsigned(),
                  let b = reader.unsigned() else { return nil }
            crop = (l, r, t, b)
        }
        // Crop offsets count chroma samples (§7.4.2.1.1, equations 7-19 to 7-22).
        let fieldFactor = 2 - frameMacroblocksOnly
        let chromaArrayType = separateColourPlanes ? 0 : chromaFormat
        let subWidth = chromaArrayType == 1 || chromaArrayType == 2 ? 2 : 1
        let subHeight = chromaArrayType == 1 ? 2 : 1
        let cropUnitX = chromaArrayType == 0 ? 1 : subWidth
        let cropUnitY = (chromaArrayType == 0 ? 1 : subHeight) * fieldFactor
        width = (widthInMacroblocks + 1) * 16 - cropUnitX * (crop.left + crop.right)
        height = fieldFactor * (heightInMapUnits + 1) * 16 - cropUnitY * (crop.top + crop.bottom)
        guard width > 0, height > 0 else { return nil }
    }
}

/// Reads the bit fields and Exp-Golomb codes of an H.264 RBSP. Every read returns nil past the end
/// instead of trapping, since the input comes from the network.
struct ExpGolombReader {
    private var bytes: [UInt8] = []
    private var bitOffset = 0

    /// Copies `escaped`, dropping each emulation-prevention byte (the 03 in 00 00 03).
    init(removingEmulationPrevention escaped: some Sequence<UInt8>) {
        var zeros = 0
        for byte in escaped {
            if zeros >= 2, byte == 0x03 {
                zeros = 0
                continue
            }
            zeros = byte == 0 ? zeros + 1 : 0
            bytes.append(byte)
        }
    }

    mutating func bits(_ count: Int) -> Int? {
        guard count <= 32, bitOffset + count <= bytes.count * 8 else { return nil }
        var value = 0
        for _ in 0..<count {
            let bit = Int(bytes[bitOffset >> 3] >> (7 - UInt8(bitOffset & 7))) & 1
            value = value << 1 | bit
            bitOffset += 1
        }
        return value
    }

    /// ue(v).
    mutating func unsigned() -> Int? {
        var leadingZeros = 0
        while true {
            guard let bit = bits(1) else { return nil }
            if bit == 1 { break }
            leadingZeros += 1
            guard leadingZeros <= 31 else { return nil }
        }
        guard let suffix = bits(leadingZeros) else { return nil }
        return (1 << leadingZeros) - 1 + suffix
    }

    /// se(v).
    mutating func signed() -> Int? {
        guard let code = unsigned() else { return nil }
        return code & 1 == 1 ? (code + 1) / 2 : -(code / 2)
    }

    /// scaling_list() (§7.3.2.1.1.1): only the delta codes matter for reaching the fields after it.
    mutating func skipScalingList(size: Int) -> Bool {
        var last = 8, next = 8
        for _ in 0..<size {
            if next != 0 {
                guard let delta = signed() else { return false }
                next = (last + delta + 256) % 256
            }
            last = next == 0 ? last : next
        }
        return true
    }
}
