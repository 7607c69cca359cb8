import LiveKitProto
import Signal
import Synchronization

/// A participant's `SignalSink` that outlives its WebSocket: when the socket drops, messages are
/// kept (bounded) until the client resumes on a new socket (`attach`), or the session ends.
/// The room, the session and the media all hold this one sink.
final class SwitchableSignalSink: SignalSink, Sendable {
    private struct State {
        var target: WebSocketSignalSink?
        var queued: [Livekit_SignalResponse] = []
        var closed = false
    }

    /// Messages kept while no socket is attached; beyond this the client must rejoin anyway.
    static let maxQueued = 512
    private let state = Mutex(State())

    init(_ target: WebSocketSignalSink) {
        state.withLock { $0.target = target }
    }

    func send(_ response: Livekit_SignalResponse) {
        state.withLock { state in
            if let target = state.target {
                target.send(response)
            } else if !state.closed, state.queued.count < Self.maxQueued {
                state.queued.append(response)
            }
        }
    }

    /// Ends the session's signalling for good (leave, removal, timeout).
    func close() {
        let target: WebSocketSignalSink? = state.withLock { state in
            state.closed = true
            state.queued = []
            defer { state.target = nil }
            return state.target
        }
        target?.close()
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// The socket went away without a goodbye: keep what the room says until a resume.
    func detach() {
        state.withLock { $0.target = nil }
    }

    /// A resumed socket: `first` (the ReconnectResponse) goes out before anything kept meanwhile.
    /// False when the session was closed in between.
    func attach(_ target: WebSocketSignalSink, first: Livekit_SignalResponse) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.target = target
            target.send(first)
            for message in state.queued { target.send(message) }
            state.queued = []
            return true
        }
    }
}
