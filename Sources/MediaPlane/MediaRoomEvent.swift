import SFU

/// What the room's media tells every member, as values: each door decides how (or whether) its
/// client hears it. The LiveKit door turns these into SignalResponses; WHIP and WHEP have no
/// channel to say them on.
public enum MediaRoomEvent: Sendable, Equatable {
    /// The set of active speakers changed: the speakers, loudest first, then those who stopped.
    case speakersChanged([ActiveSpeakerDetector.Speaker])
    /// Connection quality of the participants whose rating changed.
    case connectionQuality([ConnectionQualityScorer.Rating])
}
