import LiveKitProto
import NIOWebSocket
import Signal

/// How a client that got a WebSocket is told it cannot go on: a LiveKit LeaveRequest (what the
/// SDKs read) followed by a close frame whose code and reason say the same in WebSocket terms.
///
/// Every close frame Sluice sends with a reason goes through `closeReason(_:)`: RFC 6455 caps a
/// control frame's payload at 125 bytes, 2 of them the code, and a longer one makes clients fail
/// with a protocol error instead of showing the reason (issue #20).
enum SignalRefusal {
    /// Bytes of reason text a close frame can carry.
    static let maxCloseReasonBytes = 123

    /// `reason` cut to fit a close frame, at a character boundary so it stays valid UTF-8.
    static func closeReason(_ reason: String) -> String {
        guard reason.utf8.count > maxCloseReasonBytes else { return reason }
        var kept = ""
        var bytes = 0
        for character in reason {
            let size = character.utf8.count
            if bytes + size > maxCloseReasonBytes - 3 { break }
            kept.append(character)
            bytes += size
        }
        return kept + "..."
    }

    /// The close code for a refused join: a policy refusal (1008), a server fault (1011), or
    /// "try again later" (1013) when the server is out of resources.
    static func closeCode(for error: JoinError) -> WebSocketErrorCode {
        switch error {
        case .roomNotFound, .roomFull, .invalidRoomName: return .policyViolation
        case .storage, .mediaSetup: return .unexpectedServerError
        case .unavailable: return .unknown(1013)
        }
    }

    /// The LeaveRequest a refused client reads before the close: no reconnect, JOIN_FAILURE.
    static func leave(_ reason: Livekit_DisconnectReason = .joinFailure) -> Livekit_SignalResponse {
        var leave = Livekit_SignalResponse()
        leave.leave = Livekit_LeaveRequest.with {
            $0.canReconnect = false
            $0.reason = reason
            $0.action = .disconnect
        }
        return leave
    }
}
