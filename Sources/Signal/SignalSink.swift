import LiveKitProto

/// Where a participant's outgoing signalling goes (its WebSocket, in practice).
///
/// `send` must not block: implementations queue the message and return, so the room that
/// broadcasts never waits on one participant's socket.
public protocol SignalSink: Sendable {
    func send(_ response: Livekit_SignalResponse)
    /// Closes the connection after the queued messages are written.
    func close()
}
