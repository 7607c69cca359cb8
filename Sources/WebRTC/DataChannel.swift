/// One data channel message.
public enum DataChannelMessage: Sendable, Equatable {
    case binary([UInt8])
    case text(String)
}

/// Options of a data channel (the W3C `RTCDataChannelInit` subset DCEP carries).
public struct DataChannelOptions: Sendable, Equatable {
    public var ordered: Bool
    /// Partial reliability by retransmissions (0 = send once). Exclusive with `maxPacketLifeTime`.
    public var maxRetransmits: UInt16?
    /// Partial reliability by lifetime in milliseconds.
    public var maxPacketLifeTime: UInt16?
    public var `protocol`: String
    /// DCEP priority (256 = "low", the default of browsers).
    public var priority: UInt16
    /// A channel negotiated out of band on this stream id: no DCEP messages.
    public var negotiatedID: UInt16?

    public init(ordered: Bool = true, maxRetransmits: UInt16? = nil, maxPacketLifeTime: UInt16? = nil,
                protocol: String = "", priority: UInt16 = 256, negotiatedID: UInt16? = nil) {
        self.ordered = ordered
        self.maxRetransmits = maxRetransmits
        self.maxPacketLifeTime = maxPacketLifeTime
        self.protocol = `protocol`
        self.priority = priority
        self.negotiatedID = negotiatedID
    }

    var reliability: SCTPAssociation.Reliability {
        if let n = maxRetransmits { return .maxRetransmits(n) }
        if let ms = maxPacketLifeTime { return .maxLifetime(milliseconds: ms) }
        return .reliable
    }
}

public enum DataChannelError: Error, Sendable, Equatable {
    case notOpen
    case noStreamAvailable
    case streamInUse(UInt16)
    case invalidOptions
    case sctp(SCTPError)
}

/// A WebRTC data channel: one SCTP stream id in both directions, opened with DCEP (RFC 8832) or
/// negotiated out of band. Loop-confined like its `DataChannelManager`; callbacks run on the worker.
public final class DataChannel {
    public enum State: Sendable, Equatable {
        case connecting, open, closing, closed
    }

    public let id: UInt16
    public let label: String
    public let options: DataChannelOptions
    public var ordered: Bool { options.ordered }
    public var maxRetransmits: UInt16? { options.maxRetransmits }
    public var maxPacketLifeTime: UInt16? { options.maxPacketLifeTime }
    public var `protocol`: String { options.protocol }
    public var negotiated: Bool { options.negotiatedID != nil }
    public private(set) var state: State = .connecting

    public var onOpen: (() -> Void)?
    public var onMessage: ((DataChannelMessage) -> Void)?
    public var onClose: (() -> Void)?

    weak var manager: DataChannelManager?
    /// We sent DATA_CHANNEL_OPEN and have not seen the ACK (or any message) yet: until then our
    /// messages go ordered so they cannot overtake the OPEN (RFC 8832 section 6).
    var awaitingAck: Bool
    var incomingReset = false
    var outgoingReset = false

    init(id: UInt16, label: String, options: DataChannelOptions, manager: DataChannelManager, awaitingAck: Bool) {
        self.id = id
        self.label = label
        self.options = options
        self.manager = manager
        self.awaitingAck = awaitingAck
    }

    public func send(_ bytes: UnsafeRawBufferPointer) throws(DataChannelError) {
        try send(bytes, text: false)
    }

    public func send(_ bytes: [UInt8]) throws(DataChannelError) {
        let result: Result<Void, DataChannelError> = bytes.withUnsafeBytes { raw in
            do throws(DataChannelError) { try send(raw, text: false); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    public func send(_ text: String) throws(DataChannelError) {
        var text = text
        let result: Result<Void, DataChannelError> = text.withUTF8 { utf8 in
            do throws(DataChannelError) {
                try send(UnsafeRawBufferPointer(utf8), text: true)
                return .success(())
            } catch { return .failure(error) }
        }
        try result.get()
    }

    public func send(_ message: DataChannelMessage) throws(DataChannelError) {
        switch message {
        case .binary(let bytes): try send(bytes)
        case .text(let text): try send(text)
        }
    }

    /// Closes the channel: resets our outgoing stream; the peer answers with its own reset, and
    /// then the channel is closed (RFC 8831 section 6.7).
    public func close() {
        switch state {
        case .closing, .closed: return
        case .connecting, .open: break
        }
        state = .closing
        manager?.closeChannel(self)
    }

    // MARK: From the manager

    private func send(_ bytes: UnsafeRawBufferPointer, text: Bool) throws(DataChannelError) {
        guard state == .open, let manager else { throw .notOpen }
        try manager.send(bytes, text: text, on: self)
    }

    func setOpen() {
        guard state == .connecting else { return }
        state = .open
        onOpen?()
    }

    func setClosed() {
        guard state != .closed else { return }
        state = .closed
        onClose?()
        onOpen = nil
        onMessage = nil
        onClose = nil
    }
}
