import Foundation

/// Expands LiveKit's egress filename templates such as `{room_name}-{time}.mp4`.
///
/// LiveKit substitutes `{room_name}`, `{room_id}`, `{time}` (local time, `2006-01-02T150405`),
/// `{utc}` (Unix time), `{publisher_identity}`, `{track_id}`, `{track_type}`, `{track_source}`.
/// Path separators in substituted values are replaced so a room name cannot escape the directory.
public struct FilenameTemplate: Sendable {
    public var roomName: String = ""
    public var roomID: String = ""
    public var publisherIdentity: String = ""
    public var trackID: String = ""
    public var trackType: String = ""
    public var trackSource: String = ""
    public var date: Date = Date()

    public init() {}

    public func expand(_ template: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd'T'HHmmss"
        let values: [(String, String)] = [
            ("{room_name}", roomName), ("{room_id}", roomID), ("{publisher_identity}", publisherIdentity),
            ("{track_id}", trackID), ("{track_type}", trackType), ("{track_source}", trackSource),
            ("{time}", formatter.string(from: date)), ("{utc}", String(Int64(date.timeIntervalSince1970))),
        ]
        var out = template
        for (placeholder, value) in values {
            out = out.replacingOccurrences(of: placeholder, with: Self.safe(value))
        }
        return out
    }

    private static func safe(_ value: String) -> String {
        String(value.map { $0 == "/" || $0 == "\\" || $0 == "\0" ? "_" : $0 })
    }
}
