import Foundation

/// A media playlist as libavformat's `hls` muxer writes it, read back for what EgressInfo
/// reports (segment count, duration) and rewritten as the live playlist's sliding window.
public struct HLSPlaylist: Sendable, Equatable {
    public struct Segment: Sendable, Equatable {
        /// As written in the playlist: relative to the playlist's directory.
        public var uri: String
        public var seconds: Double
    }

    /// fMP4's init segment (`#EXT-X-MAP`), relative to the playlist's directory.
    public var initSegment: String?
    public var targetDuration = 0
    public var mediaSequence = 0
    public var segments: [Segment] = []
    public var ended = false

    public init(segments: [Segment] = [], targetDuration: Int = 0, mediaSequence: Int = 0, ended: Bool = false) {
        self.segments = segments
        self.targetDuration = targetDuration
        self.mediaSequence = mediaSequence
        self.ended = ended
    }

    /// Reads `#EXTINF` durations and the URI line after each; other tags are kept as counts only.
    public init(text: String) {
        var pending: Double?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#EXTINF:") {
                pending = Double(line.dropFirst(8).prefix { $0 != "," }) ?? 0
            } else if line.hasPrefix("#EXT-X-TARGETDURATION:") {
                targetDuration = Int(line.dropFirst(22)) ?? 0
            } else if line.hasPrefix("#EXT-X-MEDIA-SEQUENCE:") {
                mediaSequence = Int(line.dropFirst(22)) ?? 0
            } else if line.hasPrefix("#EXT-X-MAP:"), let start = line.range(of: "URI=\"") {
                initSegment = String(line[start.upperBound...].prefix { $0 != "\"" })
            } else if line == "#EXT-X-ENDLIST" {
                ended = true
            } else if !line.hasPrefix("#"), !line.isEmpty, let seconds = pending {
                segments.append(Segment(uri: line, seconds: seconds))
                pending = nil
            }
        }
    }

    public init?(contentsOf path: String) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            return nil
        }
        self.init(text: text)
    }

    public var totalSeconds: Double { segments.reduce(0) { $0 + $1.seconds } }

    /// The newest `count` segments, numbered on from where the full list started.
    public func window(_ count: Int) -> HLSPlaylist {
        let kept = Array(segments.suffix(count))
        var window = HLSPlaylist(segments: kept, targetDuration: targetDuration,
                                 mediaSequence: mediaSequence + segments.count - kept.count, ended: ended)
        window.initSegment = initSegment
        return window
    }

    public var text: String {
        let target = max(targetDuration, Int(segments.map(\.seconds).max()?.rounded(.up) ?? 0))
        var out = "#EXTM3U\n#EXT-X-VERSION:\(initSegment == nil ? 3 : 7)\n#EXT-X-TARGETDURATION:\(target)\n"
            + "#EXT-X-MEDIA-SEQUENCE:\(mediaSequence)\n"
        if let initSegment { out += "#EXT-X-MAP:URI=\"\(initSegment)\"\n" }
        for segment in segments {
            out += "#EXTINF:\(String(format: "%.6f", segment.seconds)),\n\(segment.uri)\n"
        }
        if ended { out += "#EXT-X-ENDLIST\n" }
        return out
    }

    /// Writes the playlist through a temporary file and a rename, so a player or an uploader
    /// never reads half of it.
    public func write(to path: String) throws {
        let temporary = path + ".tmp"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        if rename(temporary, path) != 0 { throw CocoaError(.fileWriteUnknown) }
    }
}
