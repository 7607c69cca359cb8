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

/// The sink of a participant that has no connection here (another node's member, shown in an
/// edge room): what the room would tell it goes nowhere; its own node tells it.
public struct DiscardingSignalSink: SignalSink {
    public init() {}
    public func send(_ response: Livekit_SignalResponse) {}
    public func close() {}
}
