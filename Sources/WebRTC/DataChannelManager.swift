/// The data channels of one peer connection: owns its `SCTPAssociation`, speaks DCEP (RFC 8832)
/// and maps PPIDs to messages (RFC 8831).
///
/// Wire it to a `PeerTransport` (or a `DTLSTransport`): set `output` to send each packet as DTLS
/// application data, call `start()` once DTLS is connected, and feed received application data to
/// `handlePacket`. Stream ids follow the DTLS role: the DTLS client uses even ids, the server odd.
///
/// Loop-confined: create, use and drop it on its worker. All callbacks (`onDataChannel`,
/// `onStateChange`, and each channel's `onOpen`/`onMessage`/`onClose`) run on the worker, never
/// from inside a usrsctp call, so they may send or close freely.
public final class DataChannelManager {
    public let association: SCTPAssociation
    public let role: DTLSTransport.Role
    /// A channel the peer opened in band (DATA_CHANNEL_OPEN). It is already open; set its
    /// callbacks here.
    public var onDataChannel: ((DataChannel) -> Void)?
    public var onStateChange: ((SCTPAssociation.State) -> Void)?
    /// Open and opening channels by stream id.
    public private(set) var channels: [UInt16: DataChannel] = [:]

    /// Counters (read on the worker).
    public private(set) var malformedControlMessages = 0
    public private(set) var messagesForUnknownStreams = 0

    private let listener = Listener()

    public init(worker: MediaWorker, role: DTLSTransport.Role,
                configuration: SCTPAssociation.Configuration = .init()) throws(SCTPError) {
        association = try SCTPAssociation(worker: worker, configuration: configuration)
        self.role = role
        listener.owner = self
        association.delegate = listener
    }

    deinit {
        association.close()
    }

    /// Outgoing SCTP packets (send each as one DTLS record). Must not feed packets back
    /// synchronously into an association (see `SCTPAssociation.output`).
    public var output: ((UnsafeRawBufferPointer) -> Void)? {
        get { association.output }
        set { association.output = newValue }
    }

    public var state: SCTPAssociation.State { association.state }
    public var maxMessageSize: Int { association.configuration.maxMessageSize }

    public func start() throws(SCTPError) {
        try association.start()
    }

    public func handlePacket(_ packet: UnsafeRawBufferPointer) {
        association.handlePacket(packet)
    }

    /// Opens a channel. With DCEP it sends DATA_CHANNEL_OPEN (queued until the association is
    /// up) and becomes open once the association is up; `onOpen` fires later, on the worker.
    public func createDataChannel(label: String, options: DataChannelOptions = .init()) throws(DataChannelError) -> DataChannel {
        if options.maxRetransmits != nil && options.maxPacketLifeTime != nil { throw .invalidOptions }
        switch association.state {
        case .closed, .failed: throw .notOpen
        default: break
        }
        let id: UInt16
        if let negotiated = options.negotiatedID {
            guard negotiated < association.configuration.streams else { throw .sctp(.invalidStream(negotiated)) }
            guard channels[negotiated] == nil else { throw .streamInUse(negotiated) }
            id = negotiated
        } else {
            id = try allocateStreamID()
        }
        let channel = DataChannel(id: id, label: label, options: options, manager: self,
                                  awaitingAck: options.negotiatedID == nil)
        channels[id] = channel
        if options.negotiatedID == nil {
            let open = DataChannelOpen(label: label, options: options).serialized()
            do { try association.send(open, streamID: id, ppid: DataChannelPPID.dcep) } catch {
                channels[id] = nil
                throw .sctp(error)
            }
        }
        if association.state == .connected { scheduleOpen(channel) }
        return channel
    }

    /// Closes every channel and aborts the association.
    public func close() {
        let all = channels.values
        channels.removeAll()
        association.close()
        for channel in all { channel.setClosed() }
    }

    // MARK: From DataChannel

    func send(_ bytes: UnsafeRawBufferPointer, text: Bool, on channel: DataChannel) throws(DataChannelError) {
        let empty = bytes.isEmpty
        let ppid = text ? (empty ? DataChannelPPID.stringEmpty : DataChannelPPID.string)
                        : (empty ? DataChannelPPID.binaryEmpty : DataChannelPPID.binary)
        let ordered = channel.options.ordered || channel.awaitingAck
        do {
            if empty {
                try association.send([0], streamID: channel.id, ppid: ppid, ordered: ordered,
                                     reliability: channel.options.reliability)
            } else {
                try association.send(bytes, streamID: channel.id, ppid: ppid, ordered: ordered,
                                     reliability: channel.options.reliability)
            }
        } catch {
            throw .sctp(error)
        }
    }

    func closeChannel(_ channel: DataChannel) {
        guard channels[channel.id] === channel else { return }
        if channel.incomingReset {
            finishClose(channel)
            return
        }
        resetOutgoing(channel)
    }

    // MARK: Internals

    private func allocateStreamID() throws(DataChannelError) -> UInt16 {
        var limit = Int(association.configuration.streams)
        if association.state == .connected && association.outboundStreams > 0 {
            limit = min(limit, Int(association.outboundStreams))
        }
        var candidate = role == .client ? 0 : 1
        while candidate < limit {
            if channels[UInt16(candidate)] == nil { return UInt16(candidate) }
            candidate += 2
        }
        throw .noStreamAvailable
    }

    /// Opens the channel on a later turn of the loop, after the caller had a chance to set `onOpen`.
    private func scheduleOpen(_ channel: DataChannel) {
        let box = LoopBound((manager: self, channel: channel))
        association.worker.execute {
            let (manager, channel) = box.value
            guard manager.channels[channel.id] === channel else { return }
            channel.setOpen()
        }
    }

    private func resetOutgoing(_ channel: DataChannel) {
        guard !channel.outgoingReset else { return }
        channel.outgoingReset = true
        association.resetStreams([channel.id])
    }

    private func finishClose(_ channel: DataChannel) {
        if channels[channel.id] === channel { channels[channel.id] = nil }
        channel.setClosed()
    }

    fileprivate func associationStateChanged(_ state: SCTPAssociation.State) {
        switch state {
        case .connected:
            for channel in channels.values.sorted(by: { $0.id < $1.id }) where channel.state == .connecting {
                channel.setOpen()
            }
        case .closed, .failed:
            let all = channels.values
            channels.removeAll()
            for channel in all { channel.setClosed() }
        case .new, .connecting:
            break
        }
        onStateChange?(state)
    }

    fileprivate func received(_ message: UnsafeRawBufferPointer, streamID: UInt16, ppid: UInt32) {
        switch ppid {
        case DataChannelPPID.dcep:
            receivedControl(message, streamID: streamID)
        case DataChannelPPID.string, DataChannelPPID.stringEmpty, DataChannelPPID.binary, DataChannelPPID.binaryEmpty:
            guard let channel = channels[streamID], channel.state == .open || channel.state == .closing else {
                messagesForUnknownStreams += 1
                return
            }
            channel.awaitingAck = false  // any message from the peer implies it saw our OPEN
            let delivered: DataChannelMessage
            switch ppid {
            case DataChannelPPID.string: delivered = .text(String(decoding: message, as: UTF8.self))
            case DataChannelPPID.stringEmpty: delivered = .text("")
            case DataChannelPPID.binary: delivered = .binary(Array(message))
            default: delivered = .binary([])
            }
            channel.onMessage?(delivered)
        default:
            messagesForUnknownStreams += 1  // deprecated partial PPIDs 52/54 and unknown ones
        }
    }

    private func receivedControl(_ bytes: UnsafeRawBufferPointer, streamID: UInt16) {
        guard let control = DataChannelControlMessage(parsing: bytes) else {
            malformedControlMessages += 1
            return
        }
        switch control {
        case .ack:
            channels[streamID]?.awaitingAck = false
        case .open(let open):
            // The opener uses the other parity; a clash (or a reused id) is ignored.
            let peerParity = role == .client ? 1 : 0
            guard Int(streamID) % 2 == peerParity, channels[streamID] == nil else {
                malformedControlMessages += 1
                return
            }
            let channel = DataChannel(id: streamID, label: open.label, options: open.options, manager: self,
                                      awaitingAck: false)
            channels[streamID] = channel
            do {
                try association.send(DataChannelControlMessage.ack.serialized(), streamID: streamID,
                                     ppid: DataChannelPPID.dcep)
            } catch {
                channels[streamID] = nil
                return
            }
            channel.setOpen()
            onDataChannel?(channel)
        }
    }

    fileprivate func incomingStreamsReset(_ streams: [UInt16]) {
        for id in streams {
            guard let channel = channels[id] else { continue }
            channel.incomingReset = true
            // The peer closed: close our direction too (RFC 8831 section 6.7), then we are done.
            resetOutgoing(channel)
            finishClose(channel)
        }
    }

    private final class Listener: SCTPAssociationDelegate {
        weak var owner: DataChannelManager?

        func sctpAssociation(_ association: SCTPAssociation, didChangeState state: SCTPAssociation.State) {
            owner?.associationStateChanged(state)
        }
        func sctpAssociation(_ association: SCTPAssociation, didReceive message: UnsafeRawBufferPointer,
                             streamID: UInt16, ppid: UInt32) {
            owner?.received(message, streamID: streamID, ppid: ppid)
        }
        func sctpAssociation(_ association: SCTPAssociation, didResetIncomingStreams streams: [UInt16]) {
            owner?.incomingStreamsReset(streams)
        }
    }
}

/// Carries loop-confined values into a closure that runs on the same worker later.
struct LoopBound<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
