import Foundation
import HTTPTypes

/// Cross-origin access as LiveKit's server grants it (pkg/service/server.go: rs/cors with every
/// origin allowed, `AllowedHeaders: *`, `ExposedHeaders: *`, a day of preflight caching; access is
/// guarded by tokens, not by origin). Browser SDKs and web apps live on another origin than the
/// server: without these headers the browser hides every status and reason from the page, and
/// livekit-client 2.17+ cannot even learn that `/rtc/v1` is missing and fall back to `/rtc`.
///
/// Behaves like rs/cors: a preflight (OPTIONS + `Access-Control-Request-Method`) is answered here
/// with 204 and never reaches a route; any other request from an allowed origin gets
/// `Access-Control-Allow-Origin` on whatever it is answered with, errors and 404s included. A
/// request from an origin not allowed gets no CORS headers, so the browser keeps the answer from
/// the page; requests without `Origin` (server SDKs, curl) are untouched apart from `Vary`.
public struct CORSPolicy: Sendable, Equatable {
    /// Allowed origins as configured (`cors.allowed_origins`): `*` for any, an exact origin
    /// (`https://app.example.com`, `http://127.0.0.1:3000`), or one with a single `*` wildcard
    /// (`https://*.example.com`). Empty allows none.
    public let allowedOrigins: [String]
    private let any: Bool
    private let patterns: [Pattern]

    /// LiveKit's methods (rs/cors `AllowedMethods`); a preflight for another method is refused.
    static let allowedMethods: Set<HTTPRequest.Method> = [.options, .head, .get, .post, .patch, .delete]

    /// LiveKit exposes `*`. The WHIP/WHEP headers a page must read (RFC 9725: the session's
    /// `Location`, its `ETag`, ICE servers in `Link`) are named as well, for browsers that predate
    /// the wildcard.
    static let exposedHeaders = "*, Location, Link, ETag, Accept-Patch"

    /// Seconds a browser may cache a preflight's answer (LiveKit: a day).
    static let maxAge = "86400"

    /// Any origin, LiveKit's (only) behaviour.
    public static let anyOrigin = CORSPolicy(allowedOrigins: ["*"])

    private struct Pattern: Sendable, Equatable {
        var prefix: String
        var suffix: String?  // nil: exact match on `prefix`

        func matches(_ origin: String) -> Bool {
            guard let suffix else { return origin == prefix }
            return origin.count > prefix.count + suffix.count && origin.hasPrefix(prefix) && origin.hasSuffix(suffix)
        }
    }

    /// `origins` must already be valid (see `problem(with:)`); they are matched case-insensitively.
    public init(allowedOrigins origins: [String]) {
        allowedOrigins = origins
        any = origins.contains("*")
        patterns = origins.filter { $0 != "*" }.map { origin in
            let lower = origin.lowercased()
            if let star = lower.firstIndex(of: "*") {
                return Pattern(prefix: String(lower[..<star]), suffix: String(lower[lower.index(after: star)...]))
            }
            return Pattern(prefix: lower, suffix: nil)
        }
    }

    /// Why `origin` cannot be an allowed-origin entry, or nil when it can. An origin is a scheme,
    /// a host and maybe a port, with no path: that is all a browser's `Origin` header carries.
    public static func problem(with origin: String) -> String? {
        if origin == "*" { return nil }
        guard let schemeEnd = origin.range(of: "://") else {
            return "'\(origin)' is not an origin: expected scheme://host[:port] or *"
        }
        let scheme = origin[..<schemeEnd.lowerBound]
        let authority = origin[schemeEnd.upperBound...]
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }) else {
            return "'\(origin)' has no valid scheme"
        }
        guard !authority.isEmpty else { return "'\(origin)' has no host" }
        if authority.contains("/") {
            return "'\(origin)' has a path: an origin is scheme://host[:port], without a trailing slash"
        }
        if authority.contains(where: { $0.isWhitespace || $0 == "?" || $0 == "#" || $0 == "@" }) {
            return "'\(origin)' is not an origin: expected scheme://host[:port]"
        }
        if origin.filter({ $0 == "*" }).count > 1 { return "'\(origin)' has more than one *" }
        return nil
    }

    public func allows(origin: String) -> Bool {
        if origin.isEmpty { return false }
        // Any means any, as in LiveKit: that includes "null", sent by pages opened from file://
        // (how many try a LiveKit example first) and sandboxed frames; tokens guard access.
        if any { return true }
        let lower = origin.lowercased()
        return patterns.contains { $0.matches(lower) }
    }

    /// Whether `request` is a CORS preflight, which this policy answers itself.
    public static func isPreflight(method: HTTPRequest.Method, headers: HTTPFields) -> Bool {
        method == .options && headers[.accessControlRequestMethod] != nil
    }

    /// The answer to a preflight: 204 with the grant, or 204 without one when the origin, method
    /// or headers are not allowed (the browser then blocks the real request).
    public func preflightHeaders(_ request: HTTPFields) -> HTTPFields {
        var headers: HTTPFields = [.vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"]
        guard let origin = request[.origin], allows(origin: origin),
              let method = request[.accessControlRequestMethod].flatMap({ HTTPRequest.Method($0.uppercased()) }),
              Self.allowedMethods.contains(method)
        else { return headers }
        // The allowed origin is echoed, not `*` (what rs/cors does under LiveKit's AllowOriginFunc):
        // one answer then fits every origin list, and a cache keyed by `Vary: Origin` stays right.
        headers[.accessControlAllowOrigin] = origin
        headers[.accessControlAllowMethods] = method.rawValue
        // LiveKit allows any request header (`*`): echo what was asked (Authorization,
        // Content-Type, Twirp's and the SDKs' own headers), which also works where `*` would not.
        if let asked = request[.accessControlRequestHeaders], !asked.isEmpty {
            headers[.accessControlAllowHeaders] = asked
        }
        headers[.accessControlMaxAge] = Self.maxAge
        return headers
    }

    /// Adds the grant for a real (non-preflight) request to `response`, whatever its status.
    public func decorate(_ response: inout HTTPFields, method: HTTPRequest.Method, request: HTTPFields) {
        response.addVaryOrigin()
        guard let origin = request[.origin], allows(origin: origin), Self.allowedMethods.contains(method) else { return }
        response[.accessControlAllowOrigin] = origin
        response[.accessControlExposeHeaders] = Self.exposedHeaders
    }
}

private extension HTTPFields {
    /// Adds `Origin` to `Vary`, keeping what a handler already put there.
    mutating func addVaryOrigin() {
        let existing = self[values: .vary]
        if existing.contains(where: { $0.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "origin" } }) {
            return
        }
        self.append(HTTPField(name: .vary, value: "Origin"))
    }
}
