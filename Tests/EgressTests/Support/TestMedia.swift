import Foundation

/// One encoded frame of test input with its RTP timestamp.
struct SourceFrame: Sendable {
    var data: [UInt8]
    var timestamp: UInt32
}

/// Real encoded media made once per test run by the ffmpeg CLI, split into frames.
enum TestMedia {
    static let seconds = 3.0
    /// Starting timestamps near the 32-bit wrap so every recording crosses it.
    static let videoTimestampBase: UInt32 = 0xFFFF_0000
    static let audioTimestampBase: UInt32 = 0xFFFF_F000

    static let directory: String = {
        let path = NSTemporaryDirectory() + "sluice-egress-media-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// VP8, 320x240, 30 fps, a keyframe every second, from an IVF file.
    static let vp8: [SourceFrame] = {
        let file = directory + "/source.ivf"
        try! ExternalTool.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "\(seconds)",
                                  "-c:v", "libvpx", "-b:v", "500k", "-g", "30", "-auto-alt-ref", "0", file])
        return IVFReader.frames(try! [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))).enumerated().map {
            SourceFrame(data: $0.element, timestamp: videoTimestampBase &+ UInt32($0.offset * 3000))
        }
    }()

    /// H.264 constrained baseline (no B-frames, as WebRTC sends), 320x240, 30 fps, as access units
    /// of Annex-B NAL units.
    static let h264: [[[UInt8]]] = {
        let file = directory + "/source.h264"
        try! ExternalTool.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "\(seconds)",
                                  "-c:v", "libx264", "-profile:v", "baseline", "-g", "30", "-pix_fmt", "yuv420p",
                                  "-bsf:v", "h264_mp4toannexb", "-f", "h264", file])
        return AnnexBReader.accessUnits(try! [UInt8](Data(contentsOf: URL(fileURLWithPath: file))))
    }()

    /// Opus, 48 kHz stereo, 20 ms packets, from an Ogg file.
    static let opus: [SourceFrame] = {
        let file = directory + "/source.ogg"
        try! ExternalTool.ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "\(seconds)",
                                  "-ac", "2", "-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", file])
        var timestamp = audioTimestampBase
        return OggReader.packets(try! [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))).dropFirst(2).map { packet in
            defer { timestamp &+= 960 }
            return SourceFrame(data: packet, timestamp: timestamp)
        }
    }()

    /// A fresh directory for one test's outputs.
    static func outputDirectory(_ name: String) -> String {
        let path = directory + "/\(name)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// IVF (libvpx's simple container): 32-byte file header, then per frame a 12-byte header
/// (size LE32, timestamp LE64) and the frame.
enum IVFReader {
    static func frames(_ file: [UInt8]) -> [[UInt8]] {
        guard file.count >= 32, file[0..<4].elementsEqual(Array("DKIF".utf8)) else { return [] }
        let headerLength = Int(file[6]) | Int(file[7]) << 8
        var offset = headerLength
        var frames: [[UInt8]] = []
        while offset + 12 <= file.count {
            let size = Int(file[offset]) | Int(file[offset + 1]) << 8 | Int(file[offset + 2]) << 16 | Int(file[offset + 3]) << 24
            offset += 12
            guard offset + size <= file.count else { break }
            frames.append(Array(file[offset..<offset + size]))
            offset += size
        }
        return frames
    }
}

/// Splits an Annex-B byte stream into NAL units and groups them into access units: a new unit
/// begins at a parameter set, SEI or delimiter that follows a slice, or at a slice that follows a
/// slice (libx264 writes one slice per picture here).
enum AnnexBReader {
    static func nalUnits(_ stream: [UInt8]) -> [[UInt8]] {
        var starts: [(prefix: Int, payload: Int)] = []
        var i = 0
        while i + 3 <= stream.count {
            if stream[i] == 0, stream[i + 1] == 0, stream[i + 2] == 1 {
                let prefix = i > 0 && stream[i - 1] == 0 ? i - 1 : i
                starts.append((prefix, i + 3))
                i += 3
            } else {
                i += 1
            }
        }
        return starts.enumerated().map { index, start in
            let end = index + 1 < starts.count ? starts[index + 1].prefix : stream.count
            return Array(stream[start.payload..<end])
        }
    }

    static func accessUnits(_ stream: [UInt8]) -> [[[UInt8]]] {
        var units: [[[UInt8]]] = []
        var current: [[UInt8]] = []
        var currentHasSlice = false
        for nal in nalUnits(stream) where !nal.isEmpty {
            let type = nal[0] & 0x1F
            let isSlice = type == 1 || type == 5
            if currentHasSlice, isSlice || [6, 7, 8, 9].contains(type) {
                units.append(current)
                current = []
                currentHasSlice = false
            }
            current.append(nal)
            if isSlice { currentHasSlice = true }
        }
        if !current.isEmpty { units.append(current) }
        return units
    }
}

/// Reads the packets of an Ogg stream (RFC 3533): pages of lacing values; a 255 lacing value
/// continues the packet into the next segment (or page).
enum OggReader {
    static func packets(_ file: [UInt8]) -> [[UInt8]] {
        var packets: [[UInt8]] = []
        var partial: [UInt8] = []
        var offset = 0
        while offset + 27 <= file.count, file[offset..<offset + 4].elementsEqual(Array("OggS".utf8)) {
            let segments = Int(file[offset + 26])
            let table = offset + 27
            guard table + segments <= file.count else { break }
            var data = table + segments
            for s in 0..<segments {
                let length = Int(file[table + s])
                guard data + length <= file.count else { return packets }
                partial.append(contentsOf: file[data..<data + length])
                data += length
                if length < 255 {
                    packets.append(partial)
                    partial = []
                }
            }
            offset = data
        }
        return packets
    }
}
