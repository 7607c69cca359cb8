/// The signalling endpoints as clients address them.
///
/// SDKs build these by appending to whatever path the app's URL has (livekit-client:
/// `pathname = (pathname ends with "/" ? pathname : pathname + "/") + "rtc"`, then `+ "/v1"`,
/// then `+ "/validate"`), so `ws://host/` asks for `/rtc` and `ws://host/some/prefix` for
/// `/some/prefix/rtc`. Apps put a prefix there when a proxy forwards it unchanged, so the
/// endpoint is recognised by its last segments, whatever comes before them.
enum SignalPath: Equatable, Sendable {
    /// `…/rtc`: the dual-peer-connection signalling WebSocket.
    case rtc
    /// `…/rtc/validate`: why a `/rtc` upgrade would be refused.
    case rtcValidate
    /// `…/rtc/v1`: single-peer-connection signalling (livekit-client 2.17+, Rust SDK). Not served.
    case v1
    /// `…/rtc/v1/validate`: what 2.17+ asks after a failed `/rtc/v1` upgrade.
    case v1Validate

    /// The canonical path the router serves.
    var canonical: String {
        switch self {
        case .rtc: "/rtc"
        case .rtcValidate: "/rtc/validate"
        case .v1: "/rtc/v1"
        case .v1Validate: "/rtc/v1/validate"
        }
    }

    /// The endpoint `path` (no query) addresses, or nil when it is not a signalling path.
    init?(path: some StringProtocol) {
        // Empty segments are ignored: `ws://host//` gives `//rtc` (LiveKit strips the doubled slash too).
        let segments = path.split(separator: "/")
        func ends(with tail: [String]) -> Bool {
            segments.count >= tail.count && zip(segments.suffix(tail.count), tail).allSatisfy { $0 == $1 }
        }
        if ends(with: ["rtc"]) { self = .rtc }
        else if ends(with: ["rtc", "validate"]) { self = .rtcValidate }
        else if ends(with: ["rtc", "v1"]) { self = .v1 }
        else if ends(with: ["rtc", "v1", "validate"]) { self = .v1Validate }
        else { return nil }
    }

    /// `target` (path and query) with a prefixed signalling path replaced by its canonical path;
    /// nil when there is nothing to change.
    static func canonicalTarget(_ target: String) -> String? {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first ?? ""
        guard let endpoint = SignalPath(path: path), path != endpoint.canonical else { return nil }
        return parts.count > 1 ? endpoint.canonical + "?" + parts[1] : endpoint.canonical
    }
}
