import Foundation

/// Where an egress may write: a requested `filepath` (already template-expanded) resolved under
/// the configured recordings directory.
///
/// LiveKit's egress writes wherever its container can; a self-hosted server shares its disk with
/// everything else, so Sluice confines recordings to `recordings.path`. Relative paths are taken
/// from there; absolute paths must already point inside it. `..` that climbs out is refused
/// rather than clamped, so a caller learns their path was wrong. Symlinks are not followed here:
/// whoever can plant one inside the recordings directory can already write there.
enum EgressOutputPath {
    enum Failure: Error, Equatable, CustomStringConvertible {
        case escapesRecordingsDirectory(String)
        case notAFile(String)
        /// A segmented output's names that do not fit together (see `EgressSegmentsPath`).
        case segmentNames(String)

        var description: String {
            switch self {
            case .escapesRecordingsDirectory(let path):
                "filepath \"\(path)\" points outside the recordings directory"
            case .notAFile(let path):
                "filepath \"\(path)\" names a directory, not a file"
            case .segmentNames(let problem):
                problem
            }
        }
    }

    /// The absolute file path for `requested` under `root`.
    ///
    /// - Parameters:
    ///   - requested: the expanded filepath; empty, or ending in "/", takes `defaultName`.
    ///   - root: the recordings directory (relative paths are taken from the working directory).
    ///   - defaultName: the file name used when the request names none (expanded, no extension).
    static func resolve(_ requested: String, under root: String, defaultName: String) throws(Failure) -> String {
        let rootComponents = normalized(absolute(root))
        var relative = requested
        if relative.isEmpty || relative.hasSuffix("/") { relative += defaultName }
        let components: [String]
        if relative.hasPrefix("/") {
            components = normalized(relative)
            guard components.count > rootComponents.count,
                  Array(components.prefix(rootComponents.count)) == rootComponents else {
                throw .escapesRecordingsDirectory(requested)
            }
        } else {
            guard let inside = normalizedInside(relative) else { throw .escapesRecordingsDirectory(requested) }
            components = rootComponents + inside
        }
        guard components.count > rootComponents.count, let last = components.last, last != "." else {
            throw .notAFile(requested)
        }
        return "/" + components.joined(separator: "/")
    }

    /// `path` (a result of `resolve`) relative to `root`: a recording's object key when uploaded.
    static func relative(_ path: String, under root: String) -> String {
        let rootComponents = normalized(absolute(root))
        let components = normalized(path)
        guard components.count > rootComponents.count,
              Array(components.prefix(rootComponents.count)) == rootComponents else { return components.joined(separator: "/") }
        return components.dropFirst(rootComponents.count).joined(separator: "/")
    }

    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Components of an absolute path with `.`, `..` and empty parts folded (`..` stops at `/`).
    private static func normalized(_ path: String) -> [String] {
        var out: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !out.isEmpty { out.removeLast() }
            default: out.append(String(part))
            }
        }
        return out
    }

    /// Components of a relative path, or nil when `..` climbs above where it started.
    private static func normalizedInside(_ path: String) -> [String]? {
        var out: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                guard !out.isEmpty else { return nil }
                out.removeLast()
            default: out.append(String(part))
            }
        }
        return out
    }
}
