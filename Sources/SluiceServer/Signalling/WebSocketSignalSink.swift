import LiveKitProto
import Signal

/// A `SignalSink` that queues responses for the WebSocket writer task, so a room broadcasting
/// to many participants never waits on one socket.
struct WebSocketSignalSink: SignalSink {
    enum Item: Sendable {
        case message(Livekit_SignalResponse)
        case close
    }

    let continuation: AsyncStream<Item>.Continuation

    func send(_ response: Livekit_SignalResponse) {
        continuation.yield(.message(response))
    }

    func close() {
        continuation.yield(.close)
        continuation.finish()
    }
}
