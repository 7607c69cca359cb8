import Foundation

/// Runs the ffmpeg/ffprobe command-line tools the tests use as outside judges. They are required
/// (CI installs them), so a missing tool fails the test rather than skipping it.
enum ExternalTool {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a chatty tool cannot block on a full pipe.
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: stdoutData, as: UTF8.self),
                      stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// Encodes test media with ffmpeg; throws with ffmpeg's message on failure.
    static func ffmpeg(_ arguments: [String]) throws {
        let result = try run("ffmpeg", ["-hide_banner", "-v", "error", "-y"] + arguments)
        guard result.status == 0 else { throw ToolError(message: "ffmpeg \(arguments): \(result.stderr)") }
    }

    /// ffprobe's view of a file.
    static func probe(_ path: String) throws -> Probe {
        let result = try run("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", path])
        guard result.status == 0 else { throw ToolError(message: "ffprobe \(path): \(result.stderr)") }
        return try JSONDecoder().decode(Probe.self, from: Data(result.stdout.utf8))
    }

    /// Seconds from the first packet's start to the last packet's end, read packet by packet (for
    /// files cut off before their duration was written).
    static func packetSpan(_ path: String) throws -> Double {
        let result = try run("ffprobe", ["-v", "error", "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0", path])
        guard result.status == 0 else { throw ToolError(message: "ffprobe packets \(path): \(result.stderr)") }
        var first = Double.infinity, end = 0.0
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: ",").map { Double($0) ?? 0 }
            guard let pts = fields.first else { continue }
            first = min(first, pts)
            end = max(end, pts + (fields.count > 1 ? fields[1] : 0))
        }
        return first.isFinite ? end - first : 0
    }

    /// Decodes the whole file; returns what ffmpeg printed at level error (empty = clean).
    static func decodeErrors(_ path: String) throws -> String {
        let result = try run("ffmpeg", ["-hide_banner", "-v", "error", "-i", path, "-f", "null", "-"])
        return result.stderr + (result.status == 0 ? "" : "exit status \(result.status)")
    }

    struct ToolError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

/// The parts of `ffprobe -show_streams -show_format -of json` the tests check.
struct Probe: Decodable {
    struct Stream: Decodable {
        var codec_name: String?
        var codec_type: String?
        var width: Int?
        var height: Int?
        var sample_rate: String?
        var channels: Int?
        var duration: String?
        var nb_frames: String?
        var start_time: String?
    }

    struct Format: Decodable {
        var format_name: String?
        var duration: String?
        var size: String?
    }

    var streams: [Stream]
    var format: Format

    var durationSeconds: Double { Double(format.duration ?? "") ?? 0 }
    var video: Stream? { streams.first { $0.codec_type == "video" } }
    var audio: Stream? { streams.first { $0.codec_type == "audio" } }
}
