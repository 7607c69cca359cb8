/// What the latest transport-wide CC feedback from a subscriber said, kept for the bandwidth
/// estimator that will read it (the SFU does not estimate yet). Summary fields only, so recording
/// one costs no allocation on the media thread.
public struct TransportFeedbackRecord: Sendable, Equatable {
    /// When it arrived (the room's clock, nanoseconds).
    public var receivedAt: UInt64
    public var baseSequenceNumber: UInt16
    /// Packets it reports on, from `baseSequenceNumber`.
    public var packetStatusCount: UInt16
    /// Of those, the ones that arrived.
    public var receivedCount: Int
    /// The subscriber's feedback counter: a jump means feedback was lost on the way.
    public var feedbackPacketCount: UInt8

    public init(receivedAt: UInt64, baseSequenceNumber: UInt16, packetStatusCount: UInt16, receivedCount: Int,
                feedbackPacketCount: UInt8) {
        self.receivedAt = receivedAt
        self.baseSequenceNumber = baseSequenceNumber
        self.packetStatusCount = packetStatusCount
        self.receivedCount = receivedCount
        self.feedbackPacketCount = feedbackPacketCount
    }
}
