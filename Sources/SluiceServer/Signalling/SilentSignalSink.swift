import LiveKitProto
import Signal

/// The room-wide signalling of a member whose door has no signalling channel (WHIP, WHEP):
/// speakers and connection quality updates go nowhere.
struct SilentSignalSink: SignalSink {
    func send(_ response: Livekit_SignalResponse) {}
    func close() {}
}
