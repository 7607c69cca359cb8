/// A recording as persisted. `info` is the serialized LiveKit `EgressInfo` (protobuf bytes), so
/// the Egress API can answer ListEgress from history without this layer knowing the schema.
public struct EgressRecord: Sendable, Equatable {
    public var egressID: String
    public var roomSid: String
    public var roomName: String
    /// LiveKit's EgressStatus number (STARTING=0 ... LIMIT_REACHED=6).
    public var status: Int
    public var info: [UInt8]
    public var updatedAtMs: Int64

    public init(egressID: String, roomSid: String, roomName: String, status: Int, info: [UInt8], updatedAtMs: Int64) {
        self.egressID = egressID
        self.roomSid = roomSid
        self.roomName = roomName
        self.status = status
        self.info = info
        self.updatedAtMs = updatedAtMs
    }
}
