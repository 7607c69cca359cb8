import LiveKitProto
import Signal

/// The room-wide signalling of a member whose door has no signalling channel (WHIP, WHEP):
/// speakers and connection quality updates go nowhere.
public struct SilentSignalSink: SignalSink {
    public func send(_ response: Livekit_SignalResponse) {}
    public func close() {}
}
