/// RTMP URLs as LiveKit's egress shows them (EgressInfo, logs, errors): the stream key, which is
/// a credential, is cut to its first and last few characters. Same rule as livekit/egress
/// `utils.RedactStreamKey`: a URL of the form `rtmp(s)://{host}(/{path})/{app}/{stream_key}( live=1)`
/// keeps everything but the key, which becomes `{abc...xyz}` — three characters each side for a
/// key of nine or more, two for six or more, one for three or more, none below. Other URLs are
/// shown as they are.
public enum StreamURL {
    public static func redacted(_ url: String) -> String {
        let lower = url.lowercased()
        guard let scheme = ["rtmp://", "rtmps://"].first(where: { lower.hasPrefix($0) }) else { return url }
        var rest = Substring(url.dropFirst(scheme.count))
        var tail = ""
        if rest.hasSuffix(" live=1") {
            rest = rest.dropLast(7)
            tail = " live=1"
        }
        // Greedy as the regexp: the key follows the last slash, the app the one before it.
        guard let keySlash = rest.lastIndex(of: "/"), rest[..<keySlash].contains("/") else { return url }
        let key = rest[rest.index(after: keySlash)...]
        guard !key.contains(where: \.isWhitespace) else { return url }
        var prefix = "", suffix = ""
        for count in stride(from: 3, to: 0, by: -1) where key.count >= count * 3 {
            prefix = String(key.prefix(count))
            suffix = String(key.suffix(count))
            break
        }
        return String(url.prefix(scheme.count)) + rest[...keySlash] + "{\(prefix)...\(suffix)}" + tail
    }
}
