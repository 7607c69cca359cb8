import Foundation
import LiveKitProto

/// The query of a LiveKit `/rtc` request: join options and, for the JS SDK, the token.
struct RTCQuery: Sendable {
    var accessToken: String?
    var autoSubscribe = true
    var protocolVersion: Int32 = 0
    /// `reconnect=1&sid=PA_...`: the client resumes that session.
    var resumeSid: String?
    /// `/rtc/v1` (or its validate): the options come in `join_request` instead.
    var isV1 = false
    var joinRequest: Livekit_JoinRequest?
    /// Why `join_request` could not be read.
    var joinRequestError: String?

    /// `target` is the request target (`/rtc?access_token=...`).
    init(target: String) {
        let items = URLComponents(string: "http://localhost" + target)?.queryItems ?? []
        func value(_ name: String) -> String? { items.last { $0.name == name }?.value }
        func flag(_ name: String) -> Bool? { value(name).map { $0 == "1" || $0.lowercased() == "true" } }
        accessToken = value("access_token")
        autoSubscribe = flag("auto_subscribe") ?? true
        protocolVersion = value("protocol").flatMap { Int32($0) } ?? 0
        if flag("reconnect") == true, let sid = value("sid"), !sid.isEmpty { resumeSid = sid }
        switch SignalPath(path: Self.path(of: target)) {
        case .v1, .v1Validate: isV1 = true
        default: return
        }
        guard let parameter = value("join_request") else {
            joinRequestError = "/rtc/v1 needs a join_request parameter"
            return
        }
        do {
            let request = try V1JoinRequest.decode(parameter)
            joinRequest = request
            if request.hasConnectionSettings { autoSubscribe = request.connectionSettings.autoSubscribe }
            if request.hasClientInfo { protocolVersion = request.clientInfo.`protocol` }
            resumeSid = request.reconnect && !request.participantSid.isEmpty ? request.participantSid : nil
        } catch {
            joinRequestError = "bad join_request: \(error)"
        }
    }

    /// The path without the query.
    static func path(of target: String) -> Substring {
        target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }
}
