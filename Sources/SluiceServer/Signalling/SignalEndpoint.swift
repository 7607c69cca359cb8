import MediaPlane
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import LiveKitProto
import Logging
import NIOCore
import Signal
import SwiftProtobuf
import Synchronization

/// LiveKit's signalling endpoint: `GET /rtc` upgraded to a WebSocket that carries one protobuf
/// SignalRequest / SignalResponse per binary frame (protojson in text frames also works).
struct SignalEndpoint: Sendable {
    let admission: RTCAdmission
    let rooms: RoomManager
    let media: MediaSessions
    let resumable: ResumableSessions
    let resources: ResourceLimits
    /// `rtc.single_peer_connection`: `/rtc/v1` is served (else it answers 404, the fallback signal).
    var singlePeerConnection = true
    /// TURN servers given to each client with its own credentials.
    var iceServers = ICEServerDirectory(config: ServerConfig())
    let logger: Logger
    /// Set in a cluster: requests for rooms that live on another node are relayed there.
    var cluster: ClusterNode? = nil
    /// Set in a cluster with the edge relay: viewers of rooms that live on another node are
    /// served here, in an edge copy of the room (see `EdgeRooms`).
    var edgeRooms: EdgeRooms? = nil

    /// Largest signalling frame accepted; SDP offers with many codecs stay far below this.
    static let maxMessageSize = 1 << 20

    /// Called for every WebSocket upgrade request: accept `/rtc` when the request may join, and
    /// refuse anything else with LiveKit's status and plain-text reason.
    func accept(target: String, authorization: String?) async -> SignallingChannel.Decision {
        switch SignalPath(path: RTCQuery.path(of: target)) {
        case .rtc: break
        case .v1 where singlePeerConnection: break
        // Single-PC signalling switched off: the Rust SDK falls back to `/rtc` on this 404,
        // livekit-client 2.17+ on the same 404 from `/rtc/v1/validate`.
        case .v1: return .refuse(status: 404, reason: Self.v1NotServedReason)
        default: return .refuse(status: 404, reason: "not found")
        }
        switch await clusterRoute(target: target, authorization: authorization) {
        case .none: break
        case .some(.failure(let refusal)): return .refuse(status: refusal.status, reason: refusal.reason)
        case .some(.success(let relay)):
            if let refusal = await relay.admission(target: target, authorization: authorization) { return refusal }
            return .upgrade { inbound, outbound, _ in
                await relay.run(target: target, authorization: authorization, inbound: inbound, outbound: outbound)
            }
        }
        switch await admission.admit(target: target, authorization: authorization) {
        case .failure(let refusal):
            return .refuse(status: refusal.status, reason: refusal.reason)
        case .success(let admitted):
            return .upgrade { inbound, outbound, _ in
                await self.run(admitted, inbound: inbound, outbound: outbound)
            }
        }
    }

    /// In a cluster: the relay to the node a request's room lives on (placing a new room on the
    /// least-loaded node first), nil to serve it here. A token that does not verify is served
    /// here too, so it gets the single node's refusal.
    private func clusterRoute(target: String, authorization: String?) async -> Result<SignalRelay, RTCAdmission.Refusal>? {
        guard let cluster, let room = admission.roomName(target: target, authorization: authorization) else { return nil }
        do {
            guard case .remote(let owner) = try await cluster.route(room: room, place: true) else { return nil }
            if let edgeRooms, let token = admission.viewerToken(target: target, authorization: authorization),
               await edgeRooms.serve(room: room, origin: owner, authorization: "Bearer " + token) {
                return nil  // a viewer: served here, its media from this node's copy of the room
            }
            return .success(SignalRelay(owner: owner, nodeID: cluster.id, maxFrameSize: Self.maxMessageSize, logger: logger))
        } catch {
            logger.warning("cluster: no room placement", metadata: ["room": "\(room)", "error": "\(error)"])
            return .failure(RTCAdmission.Refusal(status: 503, reason: "the cluster's shared state (Redis) is unavailable; retry shortly"))
        }
    }

    private func run(_ admitted: RTCAdmission.Admitted, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let (stream, continuation) = AsyncStream<WebSocketSignalSink.Item>.makeStream()
        let socket = WebSocketSignalSink(continuation: continuation)
        let json = JSONMode()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await Self.write(stream, to: outbound, json: json, logger: logger) }
            let live: ResumableSessions.Parked
            if let sid = admitted.resumeSid {
                guard let resumed = await resume(sid: sid, admitted, on: socket) else {
                    // Nothing to resume (expired, or never here): the client rejoins from scratch.
                    var leave = Livekit_SignalResponse()
                    leave.leave = Livekit_LeaveRequest.with {
                        $0.canReconnect = true
                        $0.reason = .stateMismatch
                        $0.action = .reconnect
                    }
                    socket.send(leave)
                    socket.close()
                    return
                }
                live = resumed
            } else {
                guard let joined = await join(admitted, on: socket, outbound: outbound) else {
                    socket.close()
                    return
                }
                live = joined
            }
            let sink = live.sink, session = live.session
            let connection = ResumableSessions.Connection(identity: live.identity, roomName: live.roomName)
            await resumable.attach(connection, sid: live.media.sid)
            let bridge = ParticipantMediaBridge(session: session, media: live.media, sink: sink, logger: logger)
            if let offer = admitted.publisherOffer, live.media.singlePeerConnection {
                // livekit-client sends its first offer with the join request: answered after the
                // JoinResponse (or ReconnectResponse), as any later offer.
                var request = Livekit_SignalRequest()
                request.offer = offer
                _ = await bridge.handle(request)
            } else if live.media.singlePeerConnection, admitted.resumeSid == nil {
                let participant = live.media
                _ = try? await participant.worker.run { participant.expectNoInitialOffer() }
            }
            // Drop clients that stop pinging, as LiveKit does.
            let watchdog = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    if await session.isTimedOut() {
                        logger.info("participant timed out", metadata: ["participant": "\(live.media.sid)",
                                                                         "room": "\(live.roomName)"])
                        await session.end(reason: .signalClose)
                        sink.close()
                        // Its media goes now, not when the client finally closes its socket
                        // (a silent client may never do that).
                        await media.closeParticipant(live.media)
                        return
                    }
                }
            }
            await self.readUntilClosed(inbound, into: session, bridge: bridge, sink: sink, json: json,
                                       connection: connection)
            watchdog.cancel()
            if !sink.isClosed, !(await session.isEnded) {
                // The socket dropped without a leave (or the client resumed on a new one before
                // this one looked closed): the media keeps flowing while the client gets a few
                // seconds to resume on a new socket.
                sink.detach()
                socket.close()
                logger.info(connection.isTakenOver ? "signal connection superseded by a resume" : "signal connection lost; waiting for resume",
                            metadata: ["participant": "\(live.media.sid)", "room": "\(live.roomName)"])
                if await resumable.park(live, sid: live.media.sid, from: connection) { return }
            } else {
                await resumable.detach(connection, sid: live.media.sid)
            }
            await session.end(reason: .clientInitiated)
            await media.closeParticipant(live.media)
            // The writer drains what is queued (a leave, say) and closes the socket.
            sink.close()
            socket.close()
        }
    }

    /// A new session: JoinResponse, then both peer connections and the first subscriber offer
    /// (data channels, and the tracks already published when auto-subscribing).
    private func join(_ admitted: RTCAdmission.Admitted, on socket: WebSocketSignalSink,
                      outbound: WebSocketOutboundWriter) async -> ResumableSessions.Parked? {
        let sink = SwitchableSignalSink(socket)
        let session = SignalSession(roomName: admitted.roomName, parameters: admitted.parameters, rooms: rooms,
                                    sink: sink, logger: logger,
                                    iceServers: iceServers.livekitServers(for: admitted.parameters.identity))
        do {
            try await session.start()
        } catch {
            refuse(socket, error, room: admitted.roomName, identity: admitted.parameters.identity)
            return nil
        }
        do {
            let participant = try await openMedia(admitted, session: session, sink: sink)
            if let sid = await session.participantSid {
                await rooms.onPermissionChange(roomName: admitted.roomName, participantSid: sid) { permission in
                    let unpublished = await session.applyPermission(permission)
                    _ = try? await participant.worker.run { participant.applyPermission(permission, unpublished: unpublished) }
                }
            }
            return ResumableSessions.Parked(session: session, media: participant, sink: sink, roomName: admitted.roomName,
                                            identity: admitted.parameters.identity)
        } catch {
            // The JoinResponse is out, so the client hears a leave and a close frame with the reason;
            // the others in the room see this participant leave.
            let refusal = resources.mediaRefusal(for: error)
            logger.error("media setup failed", metadata: ["room": "\(admitted.roomName)", "error": "\(error)",
                                                          "told": "\(refusal.description)"])
            await session.end(reason: .joinFailure)
            refuse(socket, refusal, room: admitted.roomName, identity: admitted.parameters.identity)
            sink.close()  // the socket's queue already ends with the refusal's close frame
            return nil
        }
    }

    /// Tells a client with a WebSocket that it cannot join: a leave, then a close frame with the
    /// same reason. The log gets the detail the client does not.
    private func refuse(_ socket: WebSocketSignalSink, _ error: JoinError, room: String, identity: String) {
        logger.info("join refused", metadata: ["room": "\(room)", "identity": "\(identity)", "why": "\(error.detail)"])
        socket.send(SignalRefusal.leave())
        socket.close(SignalRefusal.closeCode(for: error), reason: error.description)
    }

    /// A resuming client takes its parked session back: ReconnectResponse first, then what the
    /// room said meanwhile, then a subscriber offer restarting ICE (the client restarts its
    /// publisher connection itself).
    private func resume(sid: String, _ admitted: RTCAdmission.Admitted,
                        on socket: WebSocketSignalSink) async -> ResumableSessions.Parked? {
        guard let parked = await resumable.claim(sid: sid, identity: admitted.parameters.identity,
                                                 roomName: admitted.roomName) else { return nil }
        var reconnect = Livekit_SignalResponse()
        let iceServers = self.iceServers.livekitServers(for: admitted.parameters.identity)
        reconnect.reconnect = Livekit_ReconnectResponse.with {
            $0.serverInfo = ServerIdentity.serverInfo
            $0.iceServers = iceServers
        }
        guard parked.sink.attach(socket, first: reconnect) else { return nil }
        await parked.session.touch()
        let participant = parked.media
        _ = try? await participant.worker.run { participant.resumed() }
        logger.info("session resumed", metadata: ["participant": "\(sid)", "room": "\(parked.roomName)"])
        return parked
    }

    private func openMedia(_ admitted: RTCAdmission.Admitted, session: SignalSession,
                           sink: SwitchableSignalSink) async throws -> RTCParticipant {
        guard let sid = await session.participantSid else { throw MediaSessionError.gatheringTimedOut }
        let rooms = self.rooms, roomName = admitted.roomName
        return try await media.openParticipant(
            room: roomName, sid: sid, identity: admitted.parameters.identity, permission: admitted.parameters.permission,
            autoSubscribe: admitted.parameters.autoSubscribe, singlePeerConnection: admitted.singlePeerConnection, sink: sink,
            onConnected: {
                Task { await rooms.markActive(roomName: roomName, participantSid: sid) }
            },
            onFailed: { [logger] why in
                // The client's media is gone (ICE failed, consent lost): end the session the way
                // a dropped signalling connection would.
                logger.info("participant media lost", metadata: ["participant": "\(sid)", "reason": "\(why)"])
                Task {
                    await session.end(reason: .stateMismatch)
                    sink.close()
                }
            })
    }

    /// How long a client may take to close its end once we closed the session (leave, timeout,
    /// media failure) before we stop reading: the WebSocket library then closes the connection.
    static let closingGrace: Duration = .seconds(5)

    /// Reads until the client's end closes or, once we closed the session, for `closingGrace`
    /// more: a client that never closes its end must not hold this handler, its socket (left
    /// half-open in FIN-WAIT-2) and its media objects forever (issue #20's soak: fds above the
    /// baseline after everyone left).
    private func readUntilClosed(_ inbound: WebSocketInboundStream, into session: SignalSession, bridge: ParticipantMediaBridge,
                                 sink: SwitchableSignalSink, json: JSONMode, connection: ResumableSessions.Connection) async {
        await withTaskGroup(of: Void.self) { reading in
            reading.addTask { await self.read(inbound, into: session, bridge: bridge, sink: sink, json: json) }
            reading.addTask {
                // Also stops reading when a resume on a new connection takes the session over.
                while !Task.isCancelled, !sink.isClosed, !connection.isTakenOver { try? await Task.sleep(for: .seconds(1)) }
                guard !Task.isCancelled, !connection.isTakenOver else { return }
                try? await Task.sleep(for: Self.closingGrace)
            }
            await reading.next()
            reading.cancelAll()
        }
    }

    private func read(_ inbound: WebSocketInboundStream, into session: SignalSession, bridge: ParticipantMediaBridge,
                      sink: SwitchableSignalSink, json: JSONMode) async {
        do {
            for try await message in inbound.messages(maxSize: Self.maxMessageSize) {
                let request: Livekit_SignalRequest
                do {
                    switch message {
                    case .binary(let buffer):
                        request = try Livekit_SignalRequest(serializedBytes: Array(buffer: buffer), options: WireDecoding.binary)
                    case .text(let text):
                        json.enabled = true
                        request = try Livekit_SignalRequest(jsonString: text, options: WireDecoding.json)
                    }
                } catch {
                    // A frame that is not a SignalRequest ends this session only.
                    logger.warning("malformed signal request", metadata: ["error": "\(error)"])
                    var leave = Livekit_SignalResponse()
                    leave.leave = Livekit_LeaveRequest.with { $0.reason = .stateMismatch; $0.action = .disconnect }
                    sink.send(leave)
                    await session.end(reason: .stateMismatch)
                    sink.close()
                    return
                }
                if await bridge.handle(request) { continue }
                await session.handle(request)
            }
        } catch {
            logger.debug("signal connection ended", metadata: ["error": "\(error)"])
        }
    }

    private static func write(_ stream: AsyncStream<WebSocketSignalSink.Item>, to outbound: WebSocketOutboundWriter,
                              json: JSONMode, logger: Logger) async {
        for await item in stream {
            do {
                switch item {
                case .message(let response):
                    if json.enabled {
                        try await outbound.write(.text(try response.jsonString()))
                    } else {
                        let bytes: [UInt8] = try response.serializedBytes()
                        try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                    }
                case .close:
                    try await outbound.close(.normalClosure, reason: nil)
                    return
                case .closeWith(let code, let reason):
                    try await outbound.close(code, reason: SignalRefusal.closeReason(reason))
                    return
                }
            } catch {
                logger.debug("signal write failed", metadata: ["error": "\(error)"])
                return
            }
        }
        try? await outbound.close(.normalClosure, reason: nil)
    }

    /// Answers `/rtc/validate` and a `/rtc` request that was not upgraded.
    func validate(_ request: Request, upgradeAttempt: Bool) async -> Response {
        // WebSocket upgrades on a later request of a connection are relayed before the router
        // (LateUpgradeInterceptor); one that still gets here (a proxy rewrote its headers
        // halfway, say) cannot be served on this connection, whose HTTP decoder stopped after
        // the upgrade request. Say so and close, so a retry opens a fresh connection.
        if upgradeAttempt, request.headers[.upgrade]?.lowercased().contains("websocket") == true {
            var response = Self.text("a WebSocket upgrade must be the first request on its connection; retry on a new connection",
                                     status: .badRequest)
            response.headers[.connection] = "close"
            return response
        }
        let target = request.uri.description
        switch await clusterRoute(target: target, authorization: request.headers[.authorization]) {
        case .none: break
        case .some(.failure(let refusal)): return Self.text(refusal.reason, status: HTTPResponse.Status(code: refusal.status))
        case .some(.success(let relay)):
            // The owner's own answer: its admission decides.
            let refusal = await relay.admission(target: target, authorization: request.headers[.authorization])
            if case .refuse(let status, let reason) = refusal { return Self.text(reason, status: HTTPResponse.Status(code: status)) }
            return upgradeAttempt ? Self.text("expected a WebSocket upgrade", status: .badRequest) : Self.text("success", status: .ok)
        }
        switch await admission.admit(target: target, authorization: request.headers[.authorization]) {
        case .failure(let refusal):
            return Self.text(refusal.reason, status: HTTPResponse.Status(code: refusal.status))
        case .success:
            return upgradeAttempt ? Self.text("expected a WebSocket upgrade", status: .badRequest) : Self.text("success", status: .ok)
        }
    }

    /// Why `/rtc/v1` is refused when switched off. livekit-client reads the `/rtc/v1/validate`
    /// body: it must not contain "requested room does not exist", which would make the 404 final.
    static let v1NotServedReason = "/rtc/v1 (single peer connection) is switched off here (rtc.single_peer_connection); use /rtc"
    static var v1NotServed: Response { text(v1NotServedReason, status: .notFound) }

    static func text(_ body: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Whether a session speaks protojson (text frames) instead of binary protobuf: set by the
/// reader when a text frame arrives, read by the writer.
final class JSONMode: Sendable {
    private let flag = Atomic<Bool>(false)
    var enabled: Bool {
        get { flag.load(ordering: .relaxed) }
        set { flag.store(newValue, ordering: .relaxed) }
    }
}
