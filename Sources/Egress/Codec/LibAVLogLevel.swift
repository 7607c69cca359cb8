import CFFmpeg

/// libav logs at "info" by default, and libx264 uses it to print its build, options and
/// per-encoder statistics: a dozen lines on the server's stderr for every transcoded recording.
/// The codec wrappers lower the (process-wide) level to warnings once, before opening the first
/// codec; warnings and errors still show.
enum LibAVLogLevel {
    static let warningsOnly: Void = {
        if av_log_get_level() > AV_LOG_WARNING { av_log_set_level(AV_LOG_WARNING) }
    }()
}
