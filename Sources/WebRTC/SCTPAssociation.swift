import CShims
import CUsrsctp
#if canImport(Glibc)
import Glibc
#endif

/// Events from an `SCTPAssociation`, synchronous on its worker, never from inside a usrsctp call.
public protocol SCTPAssociationDelegate: AnyObject {
    func sctpAssociation(_ association: SCTPAssociation, didChangeState state: SCTPAssociation.State)
    /// One complete message (reassembled if usrsctp delivered it in parts), valid only during the call.
    func sctpAssociation(_ association: SCTPAssociation, didReceive message: UnsafeRawBufferPointer,
                         streamID: UInt16, ppid: UInt32)
    /// The peer reset its outgoing direction of these streams (it closed them, RFC 8831 section 6.7).
    func sctpAssociation(_ association: SCTPAssociation, didResetIncomingStreams streams: [UInt16])
    /// Our reset of these outgoing streams completed.
    func sctpAssociation(_ association: SCTPAssociation, didResetOutgoingStreams streams: [UInt16])
}

extension SCTPAssociationDelegate {
    public func sctpAssociation(_ association: SCTPAssociation, didResetIncomingStreams streams: [UInt16]) {}
    public func sctpAssociation(_ association: SCTPAssociation, didResetOutgoingStreams streams: [UInt16]) {}
}

/// An errno as an `Error` (for `Result`).
struct Int32Error: Error {
    var code: Int32
    init(_ code: Int32) { self.code = code }
}

public enum SCTPError: Error, Sendable, Equatable {
    /// A usrsctp call failed with this errno.
    case socket(Int32)
    case closed
    case emptyMessage
    case messageTooLarge(Int)
    case invalidStream(UInt16)
}

/// An SCTP association over usrsctp in AF_CONN mode, for WebRTC data channels (SCTP over DTLS,
/// RFC 8261): it never touches a socket. Outgoing SCTP packets go to `output` (send each as one
/// DTLS application-data record); feed received DTLS application data to `handlePacket`.
///
/// Both sides bind their local port and connect to the remote one (5000/5000 unless the SDP's
/// `a=sctp-port` says otherwise), the simultaneous open WebRTC uses; either side may also just wait.
///
/// Loop-confined: create, use and drop it on its worker. See `SCTPStack` for the threading model.
/// `output` is called synchronously from inside usrsctp on the worker: it must not feed a packet
/// back into any `SCTPAssociation` synchronously (queue it instead), or usrsctp would re-enter.
public final class SCTPAssociation {
    public struct Configuration: Sendable {
        public var localPort: UInt16
        public var remotePort: UInt16
        /// Largest message sent or accepted; advertise it as SDP `a=max-message-size`.
        public var maxMessageSize: Int
        /// Inbound and outbound streams requested (data channel ids must be below it).
        public var streams: UInt16
        /// SCTP packet size limit. 1160 + DTLS 1.2 AES-GCM overhead (37 bytes) fits in 1200.
        public var mtu: UInt32
        public var sendBufferSize: Int
        public var receiveBufferSize: Int

        public init(localPort: UInt16 = 5000, remotePort: UInt16 = 5000, maxMessageSize: Int = 262_144,
                    streams: UInt16 = 1024, mtu: UInt32 = 1160,
                    sendBufferSize: Int = 1 << 20, receiveBufferSize: Int = 1 << 20) {
            self.localPort = localPort
            self.remotePort = remotePort
            self.maxMessageSize = maxMessageSize
            self.streams = streams
            self.mtu = mtu
            self.sendBufferSize = sendBufferSize
            self.receiveBufferSize = receiveBufferSize
        }
    }

    public enum State: Sendable, Equatable {
        case new
        /// INIT sent, waiting for the association.
        case connecting
        case connected
        case closed
        case failed(String)
    }

    /// Per-message partial reliability (RFC 3758 via usrsctp's PRINFO).
    public enum Reliability: Sendable, Equatable {
        case reliable
        case maxRetransmits(UInt16)
        case maxLifetime(milliseconds: UInt16)
    }

    public let worker: MediaWorker
    public let configuration: Configuration
    /// Receives each outgoing SCTP packet (valid only during the call).
    public var output: ((UnsafeRawBufferPointer) -> Void)?
    public weak var delegate: (any SCTPAssociationDelegate)?
    public private(set) var state: State = .new
    /// Stream counts negotiated at COMM_UP.
    public private(set) var outboundStreams: UInt16 = 0
    public private(set) var inboundStreams: UInt16 = 0
    /// Bytes of messages waiting for room in usrsctp's send buffer.
    public private(set) var bufferedAmount = 0

    /// Counters (read on the worker).
    public private(set) var packetsSent = 0
    public private(set) var packetsReceived = 0
    public private(set) var droppedOversizeMessages = 0
    public private(set) var sendFailures = 0

    private struct Outgoing {
        var streamID: UInt16
        var ppid: UInt32
        var ordered: Bool
        var reliability: Reliability
        var bytes: [UInt8]
        /// Bytes usrsctp already took (the message is open in usrsctp while 0 < sent < count).
        var sent = 0
    }

    private let id: UInt
    private let port: SCTPPort
    private var socket: OpaquePointer?
    private var address: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: id)! }
    /// Scratch for draining the port's inbound queue.
    private var batch: [SCTPInboundEvent] = []
    private var writable = false
    /// > 0 while we are inside a usrsctp call.
    private var depth = 0
    private var processing = false
    private var processingScheduled = false
    /// Set when a callback on this worker queued an event (saves a lock when nothing came).
    private var hasInbound = false
    private var sendQueue: [Outgoing] = []
    private var sendQueueHead = 0
    private var partial: [UInt16: [UInt8]] = [:]
    private var discarding: Set<UInt16> = []
    private var pendingResets: [UInt16] = []
    private var resetRetry: LoopTimer?

    public init(worker: MediaWorker, configuration: Configuration = Configuration()) throws(SCTPError) {
        worker.preconditionIsCurrent()
        precondition(configuration.sendBufferSize >= 2 * configuration.maxMessageSize,
                     "send buffer must hold a whole message")
        // usrsctp delivers messages above half the receive buffer in parts, possibly interleaved
        // with the next message of the stream (see sluice_sctp_configure): keep them whole.
        precondition(configuration.receiveBufferSize >= 2 * configuration.maxMessageSize,
                     "receive buffer must be twice the max message size")
        self.worker = worker
        self.configuration = configuration
        let stack = SCTPStack.shared
        let port = SCTPPort(worker: worker)
        self.port = port
        id = stack.register(port)
        let address = UnsafeMutableRawPointer(bitPattern: id)!
        usrsctp_register_address(address)
        guard let so = sluice_sctp_socket_new(address, UInt32(configuration.sendBufferSize / 2)) else {
            let error = errno
            usrsctp_deregister_address(address)
            stack.unregister(id)
            throw .socket(error)
        }
        let rc = sluice_sctp_configure(so, configuration.streams, Int32(clamping: configuration.sendBufferSize),
                                       Int32(clamping: configuration.receiveBufferSize))
        guard rc == 0 else {
            usrsctp_close(so)
            usrsctp_deregister_address(address)
            stack.unregister(id)
            throw .socket(rc)
        }
        socket = so
        port.association = self
        resetRetry = LoopTimer(worker: worker) { [weak self] in self?.flushResets() }
    }

    deinit {
        close()
    }

    /// Binds the local port and connects to the remote one (sends INIT). Call once DTLS is up.
    public func start() throws(SCTPError) {
        guard state == .new else { return }
        guard let socket else { throw .closed }
        var rc = sluice_sctp_bind(socket, address, configuration.localPort)
        guard rc == 0 else { fail("bind: errno \(rc)"); throw .socket(rc) }
        setState(.connecting)
        depth += 1
        rc = sluice_sctp_connect(socket, address, configuration.remotePort)
        depth -= 1
        guard rc == 0 else { fail("connect: errno \(rc)"); throw .socket(rc) }
        _ = sluice_sctp_set_mtu(socket, address, configuration.remotePort, configuration.mtu)
        scheduleProcessing()
    }

    /// Feeds one received SCTP packet (DTLS application data). Any bytes are safe: usrsctp checks
    /// the CRC32c and drops what it cannot parse.
    public func handlePacket(_ packet: UnsafeRawBufferPointer) {
        guard socket != nil, let base = packet.baseAddress, packet.count > 0 else { return }
        packetsReceived += 1
        depth += 1
        usrsctp_conninput(address, base, packet.count, 0)
        depth -= 1
        processPending()
    }

    /// Sends one message. Before the association is up, or when usrsctp's send buffer is full,
    /// the message is queued (in order) and sent later; `bufferedAmount` counts it.
    public func send(_ message: UnsafeRawBufferPointer, streamID: UInt16, ppid: UInt32,
                     ordered: Bool = true, reliability: Reliability = .reliable) throws(SCTPError) {
        switch state {
        case .closed, .failed: throw .closed
        case .new, .connecting, .connected: break
        }
        guard socket != nil else { throw .closed }
        guard message.count > 0 else { throw .emptyMessage }
        guard message.count <= configuration.maxMessageSize else { throw .messageTooLarge(message.count) }
        guard streamID < configuration.streams else { throw .invalidStream(streamID) }
        var accepted = 0
        if state == .connected && sendQueueHead == sendQueue.count {
            switch transmit(message, streamID: streamID, ppid: ppid, ordered: ordered, reliability: reliability) {
            case .success(let n) where n == message.count:
                return
            case .success(let n):
                accepted = n  // partly taken: the rest goes first in the queue
            case .failure(let e) where e.code == EWOULDBLOCK || e.code == EAGAIN:
                break
            case .failure(let e):
                sendFailures += 1
                throw .socket(e.code)
            }
        }
        sendQueue.append(Outgoing(streamID: streamID, ppid: ppid, ordered: ordered, reliability: reliability,
                                  bytes: Array(message), sent: accepted))
        bufferedAmount += message.count - accepted
    }

    public func send(_ message: [UInt8], streamID: UInt16, ppid: UInt32,
                     ordered: Bool = true, reliability: Reliability = .reliable) throws(SCTPError) {
        let result: Result<Void, SCTPError> = message.withUnsafeBytes { raw in
            do throws(SCTPError) {
                try send(raw, streamID: streamID, ppid: ppid, ordered: ordered, reliability: reliability)
                return .success(())
            } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Resets the outgoing direction of these streams (after their queued messages are sent).
    public func resetStreams(_ streams: [UInt16]) {
        guard socket != nil else { return }
        for s in streams where !pendingResets.contains(s) { pendingResets.append(s) }
        flushResets()
    }

    /// Aborts the association (ABORT goes out through `output`) and releases it. Idempotent.
    /// Dropping the association also closes it, but without the ABORT (the peer times out).
    public func close() {
        guard let socket else { return }
        self.socket = nil
        depth += 1
        usrsctp_close(socket)
        usrsctp_deregister_address(address)
        depth -= 1
        port.association = nil
        SCTPStack.shared.unregister(id)
        port.takeInbound(into: &batch)
        for event in batch { event.release() }
        batch.removeAll()
        sendQueue.removeAll()
        sendQueueHead = 0
        bufferedAmount = 0
        partial.removeAll()
        pendingResets.removeAll()
        resetRetry?.cancel()
        switch state {
        case .failed, .closed: break
        default: setState(.closed)
        }
    }

    // MARK: From SCTPStack (on the worker)

    func emit(_ packet: UnsafeRawBufferPointer) {
        packetsSent += 1
        output?(packet)
    }

    /// An event was queued on the port from this worker.
    func inboundArrived() {
        hasInbound = true
        if depth == 0 { scheduleProcessing() }
    }

    func markWritable() {
        writable = true
        if depth == 0 { scheduleProcessing() }
    }

    /// Handles queued callbacks outside usrsctp; not re-entrant (nested calls return at once).
    func processPending() {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        while socket != nil {
            if writable {
                writable = false
                flushSendQueue()
            }
            hasInbound = false
            var events: [SCTPInboundEvent] = []
            swap(&events, &batch)
            port.takeInbound(into: &events)
            if events.isEmpty { batch = events; break }
            for (i, event) in events.enumerated() {
                if socket != nil { handle(event) }
                event.release()
                if socket == nil {
                    for rest in events[(i + 1)...] { rest.release() }
                    break
                }
            }
            events.removeAll(keepingCapacity: true)
            batch = events
        }
    }

    // MARK: Internals

    private func scheduleProcessing() {
        guard !processingScheduled else { return }
        processingScheduled = true
        let port = self.port
        worker.execute {
            guard let association = port.association else { return }
            association.processingScheduled = false
            association.processPending()
        }
    }

    /// Bytes usrsctp accepted (all of `message` ends the message), or an errno.
    private func transmit(_ message: UnsafeRawBufferPointer, streamID: UInt16, ppid: UInt32,
                          ordered: Bool, reliability: Reliability) -> Result<Int, Int32Error> {
        guard let socket else { return .failure(Int32Error(EBADF)) }
        let policy: SluiceSCTPReliability
        let value: UInt32
        switch reliability {
        case .reliable: policy = SLUICE_SCTP_RELIABLE; value = 0
        case .maxRetransmits(let n): policy = SLUICE_SCTP_MAX_RETRANSMITS; value = UInt32(n)
        case .maxLifetime(let ms): policy = SLUICE_SCTP_MAX_LIFETIME; value = UInt32(ms)
        }
        depth += 1
        let n = sluice_sctp_send(socket, message.baseAddress, message.count, streamID, ppid,
                                 ordered ? 0 : 1, policy, value)
        depth -= 1
        if hasInbound || writable { scheduleProcessing() }
        return n < 0 ? .failure(Int32Error(Int32(-n))) : .success(n)
    }

    private func flushSendQueue() {
        guard state == .connected else { return }
        while sendQueueHead < sendQueue.count {
            let item = sendQueue[sendQueueHead]
            let remaining = item.bytes.count - item.sent
            let result = item.bytes.withUnsafeBytes {
                transmit(UnsafeRawBufferPointer(rebasing: $0[item.sent...]), streamID: item.streamID,
                         ppid: item.ppid, ordered: item.ordered, reliability: item.reliability)
            }
            switch result {
            case .success(let n) where n < remaining:
                sendQueue[sendQueueHead].sent += n
                bufferedAmount -= n
                return compactSendQueue()  // buffer full mid-message: wait for `writable`
            case .success:
                bufferedAmount -= remaining
                sendQueueHead += 1
            case .failure(let e) where e.code == EWOULDBLOCK || e.code == EAGAIN:
                return compactSendQueue()
            case .failure:
                // Drop the message (an open one is abandoned by usrsctp with the association).
                sendFailures += 1
                bufferedAmount -= remaining
                sendQueueHead += 1
            }
        }
        compactSendQueue()
        if !pendingResets.isEmpty { flushResets() }
    }

    private func compactSendQueue() {
        if sendQueueHead == sendQueue.count {
            sendQueue.removeAll(keepingCapacity: true)
            sendQueueHead = 0
        } else if sendQueueHead > 64 && sendQueueHead * 2 > sendQueue.count {
            sendQueue.removeFirst(sendQueueHead)
            sendQueueHead = 0
        }
    }

    private func flushResets() {
        guard let socket, state == .connected, !pendingResets.isEmpty else { return }
        let queued = Set(sendQueue[sendQueueHead...].map(\.streamID))
        let ready = pendingResets.filter { !queued.contains($0) }
        guard !ready.isEmpty else { return }
        depth += 1
        let rc = ready.withUnsafeBufferPointer {
            sluice_sctp_reset_streams(socket, $0.baseAddress, UInt16(clamping: $0.count))
        }
        depth -= 1
        if rc == 0 {
            pendingResets.removeAll { ready.contains($0) }
        } else {
            // One reset request may be outstanding at a time (EALREADY/EAGAIN/EBUSY): try again soon.
            resetRetry?.schedule(afterMilliseconds: 20)
        }
        if hasInbound { scheduleProcessing() }
    }

    private func handle(_ event: SCTPInboundEvent) {
        if event.data == nil {
            // End of file: the peer shut the association down.
            setState(.closed)
            return
        }
        if event.isNotification {
            handleNotification(event.bytes)
            return
        }
        let sid = event.streamID
        if discarding.contains(sid) {
            if event.isEndOfRecord { discarding.remove(sid) }
            return
        }
        if event.isEndOfRecord, partial[sid] == nil {
            delegate?.sctpAssociation(self, didReceive: event.bytes, streamID: sid, ppid: event.ppid)
            return
        }
        var buffer = partial.removeValue(forKey: sid) ?? []
        if buffer.count + event.length > configuration.maxMessageSize {
            droppedOversizeMessages += 1
            if !event.isEndOfRecord { discarding.insert(sid) }
            return
        }
        buffer.append(contentsOf: event.bytes)
        if event.isEndOfRecord {
            buffer.withUnsafeBytes { delegate?.sctpAssociation(self, didReceive: $0, streamID: sid, ppid: event.ppid) }
        } else {
            partial[sid] = buffer
        }
    }

    private func handleNotification(_ bytes: UnsafeRawBufferPointer) {
        var n = SluiceSCTPNotification()
        guard sluice_sctp_parse_notification(bytes.baseAddress, bytes.count, &n) != 0 else { return }
        switch Int32(n.type) {
        case SCTP_ASSOC_CHANGE:
            switch Int32(n.state) {
            case SCTP_COMM_UP:
                outboundStreams = n.outbound_streams
                inboundStreams = n.inbound_streams
                setState(.connected)
                flushSendQueue()
                flushResets()
            case SCTP_COMM_LOST:
                fail("association lost (error \(n.error))")
            case SCTP_CANT_STR_ASSOC:
                fail("cannot start association")
            case SCTP_SHUTDOWN_COMP:
                setState(.closed)
            default:
                break
            }
        case SCTP_SHUTDOWN_EVENT:
            setState(.closed)
        case SCTP_STREAM_RESET_EVENT:
            let streams = n.streams.map { Array(UnsafeBufferPointer(start: $0, count: n.stream_count)) } ?? []
            let flags = Int32(n.flags)
            if flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED) != 0 {
                if flags & SCTP_STREAM_RESET_OUTGOING_SSN != 0 {
                    for s in streams where !pendingResets.contains(s) { pendingResets.append(s) }
                    resetRetry?.schedule(afterMilliseconds: 20)
                }
                return
            }
            if flags & SCTP_STREAM_RESET_INCOMING_SSN != 0 {
                for s in streams { partial[s] = nil; discarding.remove(s) }
                delegate?.sctpAssociation(self, didResetIncomingStreams: streams)
            }
            if flags & SCTP_STREAM_RESET_OUTGOING_SSN != 0 {
                delegate?.sctpAssociation(self, didResetOutgoingStreams: streams)
            }
            flushResets()
        case SCTP_PARTIAL_DELIVERY_EVENT:
            // The rest of a partially delivered message was abandoned (PR-SCTP): drop the part.
            partial[n.stream] = nil
        case SCTP_SEND_FAILED_EVENT:
            sendFailures += 1
        default:
            break
        }
    }

    private func fail(_ reason: String) {
        setState(.failed(reason))
    }

    private func setState(_ new: State) {
        guard state != new else { return }
        switch state {
        case .closed, .failed: return
        default: break
        }
        state = new
        delegate?.sctpAssociation(self, didChangeState: new)
    }
}
