/// Maps a publisher's RTP sequence numbers to one subscriber's continuous numbering when the
/// subscriber starts mid-stream: outgoing = incoming - offset. A pure value (table-tested).
///
/// Packets older than the starting packet, or more than `reorderWindow` behind the newest one,
/// map to nil (dropped): the subscriber never saw what came before its start.
public struct SequenceNumberOffset: Sendable, Equatable {
    public static let reorderWindow: UInt16 = 1000

    public private(set) var isStarted = false
    /// outgoing = incoming &- offset
    public private(set) var offset: UInt16 = 0
    private var firstIncoming: UInt16 = 0
    private var highestIncoming: UInt16 = 0
    /// False until the stream has moved far enough from the start that "before the start" can no
    /// longer be told from "late"; then only the reorder window applies.
    private var nearStart = true

    public init() {}

    /// Starts the mapping: `incoming` will be sent as `outgoing`.
    public mutating func start(incoming: UInt16, outgoing: UInt16) {
        isStarted = true
        offset = incoming &- outgoing
        firstIncoming = incoming
        highestIncoming = incoming
        nearStart = true
    }

    /// The outgoing number for `incoming`, or nil when it must not be sent. Updates the newest
    /// sequence number seen.
    public mutating func outgoing(for incoming: UInt16) -> UInt16? {
        guard isStarted else { return nil }
        let ahead = Int16(bitPattern: incoming &- highestIncoming)
        if ahead > 0 {
            highestIncoming = incoming
            if nearStart, highestIncoming &- firstIncoming > 0x4000 { nearStart = false }
        } else if UInt16(-Int32(ahead)) > Self.reorderWindow {
            return nil
        }
        if nearStart, Int16(bitPattern: incoming &- firstIncoming) < 0 { return nil }
        return incoming &- offset
    }

    /// The incoming number an outgoing one (e.g. from a NACK) stands for.
    public func incoming(for outgoing: UInt16) -> UInt16 {
        outgoing &+ offset
    }
}
