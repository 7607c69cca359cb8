import LiveKitProto
import NIOWebSocket
import Signal

/// A `SignalSink` that queues responses for the WebSocket writer task, so a room broadcasting
/// to many participants never waits on one socket.
struct WebSocketSignalSink: SignalSink {
    enum Item: Sendable {
        case message(Livekit_SignalResponse)
        case close
        /// Close with a code and reason (a refusal); the writer fits the reason to a close frame.
        case closeWith(WebSocketErrorCode, String)
    }

    let continuation: AsyncStream<Item>.Continuation

    func send(_ response: Livekit_SignalResponse) {
        continuation.yield(.message(response))
    }

    func close() {
        continuation.yield(.close)
        continuation.finish()
    }

    /// Closes after the queued messages with `code` and `reason`.
    func close(_ code: WebSocketErrorCode, reason: String) {
        continuation.yield(.closeWith(code, reason))
        continuation.finish()
    }
}
