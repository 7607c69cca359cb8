import Auth
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A recording's file, for the dashboard's link and anyone holding an admin token:
///
///     GET /admin/recordings/{egress_id}   the file that egress wrote on this server's disk.
///                                         Access token with the roomRecord grant (as ListEgress
///                                         wants), as `Authorization: Bearer` or `?access_token=`
///                                         (a link cannot carry a header). Range requests are
///                                         answered (206) so a browser's player can seek.
///
/// The path comes only from the EgressInfo the ID names, never from the request, and must lie in
/// the recordings directory: nothing else on the disk can be asked for. Uploaded recordings
/// (S3) are not served here; their EgressInfo's location is their URL.
struct RecordingDownload: Sendable {
    let egress: EgressManager
    let tokens: AccessToken
    let recordingsPath: String

    func register(on router: Router<BasicRequestContext>) {
        router.get("/admin/recordings/:egress") { request, context in
            try await self.download(request, egress: context.parameters.get("egress") ?? "", context: context)
        }
    }

    private func download(_ request: Request, egress id: String, context: BasicRequestContext) async throws -> Response {
        let bearer = AccessToken.bearer(request.headers[.authorization]) ?? request.uri.queryParameters.get("access_token")
        guard let bearer, !bearer.isEmpty else {
            return Self.plain(.unauthorized, "missing access token (Authorization: Bearer or ?access_token=) with roomRecord")
        }
        let claims: AccessTokenClaims
        do {
            claims = try tokens.verify(bearer)
        } catch {
            return Self.plain(.unauthorized, "invalid access token: \(error)")
        }
        guard claims.grant.roomRecord == true else {
            return Self.plain(.forbidden, "access token lacks the roomRecord grant")
        }
        guard id.hasPrefix("EG_"), let info = try? await egress.list(roomName: nil, egressID: id, activeOnly: false).first else {
            return Self.plain(.notFound, "no recording \(id)")
        }
        guard let path = Self.localFile(of: info.fileResults.first?.location ?? info.fileResults.first?.filename ?? "",
                                         recordingsPath: recordingsPath),
              let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let size = (attributes[.size] as? NSNumber)?.intValue else {
            return Self.plain(.notFound, "recording \(id) has no file on this server")
        }
        var headers: HTTPFields = [
            .contentType: Self.contentType(of: path), .acceptRanges: "bytes", .cacheControl: "no-store",
            .contentDisposition: "inline; filename=\"\((path as NSString).lastPathComponent)\"",
        ]
        let fileIO = FileIO()
        switch ByteRange.parse(request.headers[.range], size: size) {
        case .whole:
            headers[.contentLength] = "\(size)"
            let body = size == 0 ? ResponseBody() : try await fileIO.loadFile(path: path, context: context)
            return Response(status: .ok, headers: headers, body: body)
        case .part(let range):
            headers[.contentLength] = "\(range.count)"
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
            let body = try await fileIO.loadFile(path: path, range: range, context: context)
            return Response(status: .partialContent, headers: headers, body: body)
        case .unsatisfiable:
            return Response(status: .rangeNotSatisfiable, headers: [.contentRange: "bytes */\(size)", .contentLength: "0"])
        }
    }

    /// The absolute path of a recording's file when it is on this disk inside the recordings
    /// directory (an uploaded one's location is a URL).
    static func localFile(of location: String, recordingsPath: String) -> String? {
        guard location.hasPrefix("/") else { return nil }
        let root = URL(fileURLWithPath: recordingsPath).standardizedFileURL.path
        let file = URL(fileURLWithPath: location).standardizedFileURL.path
        guard file.hasPrefix(root.hasSuffix("/") ? root : root + "/") else { return nil }
        return file
    }

    static func contentType(of path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "mp4", "m4v": "video/mp4"
        case "m4a": "audio/mp4"
        case "webm": "video/webm"
        case "mkv": "video/x-matroska"
        case "ogg", "opus": "audio/ogg"
        case "ts": "video/mp2t"
        default: "application/octet-stream"
        }
    }

    private static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }
}

/// A request's `Range: bytes=...` header against a file of `size` bytes (RFC 9110 §14.1.2): one
/// range is served; a header that does not parse, or asks for several ranges, gets the whole file
/// (which the RFC allows a server to send instead).
enum ByteRange: Equatable {
    case whole
    case part(ClosedRange<Int>)
    case unsatisfiable

    static func parse(_ header: String?, size: Int) -> ByteRange {
        guard let header = header?.trimmingCharacters(in: .whitespaces), header.lowercased().hasPrefix("bytes="),
              !header.contains(",") else { return .whole }
        let spec = header.dropFirst("bytes=".count)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let first = parts[0].trimmingCharacters(in: .whitespaces), last = parts[1].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            // A suffix: the last N bytes.
            guard let suffix = Int(last), suffix >= 0 else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .part(max(0, size - suffix)...(size - 1))
        }
        guard let start = Int(first), start >= 0 else { return .whole }
        let end: Int
        if last.isEmpty {
            end = size - 1
        } else {
            guard let value = Int(last), value >= start else { return .whole }
            end = min(value, size - 1)
        }
        guard start < size else { return .unsatisfiable }
        return .part(start...end)
    }
}
