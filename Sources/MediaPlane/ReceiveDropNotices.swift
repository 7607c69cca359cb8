/// When to tell the log that a publisher's packets were dropped before forwarding.
///
/// Why rate-limited and a notice, not a warning: the drops come from the room's worker falling
/// behind its publishers (the process starved of CPU, a stall while a join storm's handshakes
/// run), and dropping at a full receive queue is the designed answer to that overload
/// (`WebRTC.ReceiveQueue`: bounded delay, the loop keeps serving STUN, DTLS and timers; NACK and
/// PLI repair what subscribers miss). Under a long stall every packet is dropped, so one record
/// per `interval` with the count since the last one says as much as a record per packet. The
/// total is also a metric (`sluice_receive_queue_drop_total`).
struct ReceiveDropNotices {
    static let interval: Duration = .seconds(10)

    /// Drops already told (the transport's cumulative count at the last notice).
    private(set) var reported = 0
    private var lastNotice: ContinuousClock.Instant?

    /// The drops to tell now (those since the last notice), or nil when there are none new or
    /// the last notice is under `interval` old (they are told with the next one, or at close).
    mutating func due(total: Int, now: ContinuousClock.Instant) -> Int? {
        guard total > reported else { return nil }
        if let lastNotice, now - lastNotice < Self.interval { return nil }
        defer { reported = total; lastNotice = now }
        return total - reported
    }
}
