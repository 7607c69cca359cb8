import CFFmpeg
#if canImport(Glibc)
import Glibc
#endif

/// Turns libav's negative return codes into text and into our errors.
enum LibAVError {
    /// `AVERROR(EAGAIN)`: a codec wants the other call (send after receive, or the reverse).
    static let tryAgain: Int32 = -EAGAIN
    /// `AVERROR_EOF`, `FFERRTAG('E','O','F',' ')` negated; a function-like macro Swift cannot import.
    static let endOfFile: Int32 = -0x2046_4F45

    static func message(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        if av_strerror(code, &buffer, buffer.count) < 0 { return "libav error \(code)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// libav reports system errors as their negated errno (`AVERROR(e)`).
    static func isDiskFull(_ code: Int32) -> Bool {
        code == -ENOSPC || code == -EDQUOT
    }

    /// Errors that mean the file cannot be created where asked, rather than a failing device.
    static func isUnwritableLocation(_ code: Int32) -> Bool {
        [EACCES, EPERM, ENOENT, ENOTDIR, EROFS, EISDIR].contains(-code)
    }

    static func writeError(_ code: Int32, path: String) -> RecordingError {
        isDiskFull(code) ? .diskFull(path: path) : .writeFailed(path: path, reason: message(code))
    }
}
