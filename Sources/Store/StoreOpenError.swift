import Foundation
import GRDB

/// Why the database could not be opened at start, as one line for an operator: the path and
/// the cause in words (SQLite's own messages are terse, e.g. "unable to open database file" for
/// a read-only disk, and GRDB adds the SQL it was running).
public struct StoreOpenError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String

    public var description: String { "cannot open the database \(path): \(reason)" }

    static func reason(of error: any Error, path: String) -> String {
        guard let error = error as? DatabaseError else { return systemReason(of: error) }
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return "database is locked by another process (another sluice on the same storage.path?)"
        case .SQLITE_READONLY:
            return "the file or its directory is read-only"
        case .SQLITE_CANTOPEN:
            return "cannot open the file: " + cantOpenCause(path)
        case .SQLITE_NOTADB:
            return "file is not a database (not SQLite, or encrypted)"
        case .SQLITE_CORRUPT:
            return "the database file is corrupt"
        case .SQLITE_FULL:
            return "no space left on device"
        case .SQLITE_IOERR:
            return "I/O error: \(oneLine(error.message ?? "\(error.extendedResultCode)"))"
        default:
            return oneLine(error.message ?? "SQLite error \(error.resultCode.rawValue)")
        }
    }

    /// SQLite says only "unable to open database file": find out what stands in the way.
    private static func cantOpenCause(_ path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        let target = directory.isEmpty ? "." : directory
        if access(target, W_OK) != 0 {
            return errno == EROFS ? "its directory is on a read-only filesystem" : "cannot write to its directory (\(String(cString: strerror(errno))))"
        }
        if FileManager.default.fileExists(atPath: path), access(path, R_OK | W_OK) != 0 {
            return errno == EROFS ? "it is on a read-only filesystem" : String(cString: strerror(errno))
        }
        return "unable to open database file"
    }

    /// Why `directory` could not be created: a path component that is a file is the usual cause
    /// (Foundation's error for it does not say which).
    static func directoryReason(_ directory: String, _ error: any Error) -> String {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: prefix, isDirectory: &isDirectory) else { break }
            if !isDirectory.boolValue { return "cannot create its directory: \(prefix) is not a directory" }
        }
        return "cannot create its directory \(directory): \(systemReason(of: error))"
    }

    /// A Foundation/POSIX error as the system's words, without Foundation's `Error Domain=...` dump.
    static func systemReason(of error: any Error) -> String {
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileWriteVolumeReadOnly: return "read-only file system"
        case .fileWriteNoPermission: return "permission denied"
        default: return oneLine(ns.localizedDescription)
        }
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
