import Egress
import Foundation
import LiveKitProto

/// Where a `SegmentedFileOutput` (HLS) is written, named as LiveKit's egress names it:
///
/// - `playlist_name` (without or with `.m3u8`) names the playlist; its directory is the
///   directory of everything. Empty, it is the segment prefix's name, or the default name.
/// - `filename_prefix` names the segments `{prefix}_00000.ts`, `{prefix}_00001.ts`, …; empty, the
///   playlist's name. A directory in it is kept only when it is the playlist's (or the playlist
///   names none).
/// - `live_playlist_name` names the live playlist, in the same directory as the playlist.
/// - `segment_duration` in seconds, 4 when 0.
/// - `protocol` HLS (MPEG-TS `.ts` segments) or HLS_FMP4 (`.m4s` segments after `{prefix}_init.mp4`).
///
/// Everything is resolved under the recordings directory as file outputs are (`EgressOutputPath`).
enum EgressSegmentsPath {
    static let defaultSegmentSeconds = 4

    static func resolve(_ output: Livekit_SegmentedFileOutput, template: FilenameTemplate, under root: String,
                        defaultName: String) throws(EgressOutputPath.Failure) -> HLSSettings {
        let (playlistDirectory, playlistFile) = split(template.expand(output.playlistName))
        let (liveDirectory, liveFile) = split(template.expand(output.livePlaylistName))
        let (segmentDirectory, segmentFile) = split(template.expand(output.filenamePrefix))
        guard liveFile.isEmpty || liveDirectory.isEmpty || liveDirectory == playlistDirectory else {
            throw .segmentNames("live_playlist_name must be in the same directory as playlist_name")
        }
        let directory = playlistDirectory.isEmpty ? segmentDirectory : playlistDirectory
        var name = withoutExtension(playlistFile)
        if name.isEmpty { name = segmentFile.isEmpty ? template.expand(defaultName) : withoutExtension(segmentFile) }
        let prefix = segmentFile.isEmpty ? name : segmentFile
        let liveName = withoutExtension(liveFile)
        guard liveName.isEmpty || liveName != name else {
            throw .segmentNames("live_playlist_name cannot be the same as playlist_name")
        }
        let playlist = try EgressOutputPath.resolve(directory + name + ".m3u8", under: root, defaultName: name)
        let segmentBase = try EgressOutputPath.resolve(directory + prefix, under: root, defaultName: name)
        let live = liveName.isEmpty ? nil
            : try EgressOutputPath.resolve(directory + liveName + ".m3u8", under: root, defaultName: liveName)
        let fragmented = output.protocol == .hlsFmp4Protocol
        // The muxer reads the segment name as a printf pattern: a literal % must be doubled.
        let pattern = segmentBase.replacingOccurrences(of: "%", with: "%%") + (fragmented ? "_%05d.m4s" : "_%05d.ts")
        let seconds = output.segmentDuration == 0 ? defaultSegmentSeconds : Int(min(output.segmentDuration, 3600))
        var settings = HLSSettings(playlistPath: playlist, segmentPattern: pattern, segmentSeconds: seconds,
                                   livePlaylistPath: live)
        settings.fragmentedMP4 = fragmented
        settings.initSegmentName = (segmentBase as NSString).lastPathComponent + "_init.mp4"
        return settings
    }

    /// ("dir/", "name") of a path; ("", name) without a directory.
    private static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[...slash]), String(path[path.index(after: slash)...]))
    }

    private static func withoutExtension(_ name: String) -> String {
        for suffix in [".m3u8", ".ts", ".m4s"] where name.lowercased().hasSuffix(suffix) {
            return String(name.dropLast(suffix.count))
        }
        return name
    }
}
