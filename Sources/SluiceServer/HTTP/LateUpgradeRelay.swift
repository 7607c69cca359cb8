#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves a WebSocket upgrade that arrives as a later request on a keep-alive connection (after a
/// `GET /rtc/validate`, say) exactly as it serves one that opens a connection.
///
/// NIO's upgrader looks at a connection's first request only (swift-nio #680), and once the
/// connection serves HTTP through an `NIOAsyncChannel` it cannot get a second, WebSocket-typed one:
/// that wrapper is the pipeline's last handler and cannot be removed. So the connection hands its
/// byte stream over instead: the upgrade request is written, as received, into one end of a local
/// socket pair whose other end is served by `SignallingChannel` like any new connection (so its
/// first request is this upgrade: same admission, same 101 or refusal, same WebSocket handling),
/// and from then on bytes are relayed both ways. The relay carries signalling only (a few messages
/// a second per client); media never goes through it.
final class LateUpgradeInterceptor: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    /// Sets up the far end of the pair as a signalling connection and returns what `handle` runs.
    typealias ServeRelayed = @Sendable (_ channel: any Channel) -> EventLoopFuture<SignallingChannel.Value>

    private let serve: ServeRelayed
    private let handoff: LateUpgradeHandoff
    private let logger: Logger
    private var upgradeHead: HTTPRequestHead?

    init(handoff: LateUpgradeHandoff, logger: Logger, serve: @escaping ServeRelayed) {
        self.handoff = handoff
        self.logger = logger
        self.serve = serve
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head) where upgradeHead == nil && Self.isWebSocketUpgrade(head):
            upgradeHead = head
        case .head, .body, .end:
            guard let head = upgradeHead else {
                context.fireChannelRead(data)
                return
            }
            // The upgrade request's own body (none for a GET) and end are swallowed; on its end the
            // connection changes hands. NIO's decoder stops after an upgrade request, so nothing
            // else is decoded before it is removed.
            if case .end = part { relay(head, context: context) }
        }
    }

    static func isWebSocketUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
    }

    private func relay(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        let near = RelayNearEnd()
        do {
            // Bytes from the client go to the relay instead of the HTTP decoder, and bytes from the
            // relay go to the client without the HTTP encoder.
            try pipeline.addHandler(near, position: .before(self))
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let encoder = try pipeline.handler(type: HTTPResponseEncoder.self)
            pipeline.removeHandler(encoder, promise: nil)
            pipeline.removeHandler(decoder, promise: nil)  // forwards any bytes it held to `near`
        } catch {
            logger.warning("late WebSocket upgrade could not be relayed", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        var fds: [CInt] = [-1, -1]
        #if canImport(Glibc)
        let type = CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
        #else
        let type = SOCK_STREAM
        #endif
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else {
            logger.warning("late WebSocket upgrade: socketpair failed", metadata: ["errno": "\(errno)"])
            context.close(promise: nil)
            return
        }
        let loop = context.eventLoop
        let nearBox = NIOLoopBound(near, eventLoop: loop)
        let serve = self.serve, handoff = self.handoff, logger = self.logger
        let client = context.channel
        // The end that carries the client's bytes.
        let relayEnd = ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RelayFarEnd(client: nearBox.value))
                }
            }
            .withConnectedSocket(fds[0])
        // The end served as a fresh signalling connection.
        let servedEnd = ClientBootstrap(group: loop)
            .channelInitializer { channel in channel.eventLoop.makeSucceededVoidFuture() }
            .withConnectedSocket(fds[1])
            .flatMap { channel in serve(channel) }
        relayEnd.and(servedEnd).whenComplete { result in
            switch result {
            case .success(let (relayChannel, served)):
                nearBox.value.connect(to: relayChannel, firstBytes: Self.serialize(head))
                handoff.complete(with: served)
            case .failure(let error):
                client.close(promise: nil)
                handoff.complete(with: nil)
                logger.warning("late WebSocket upgrade could not be relayed", metadata: ["error": "\(error)"])
            }
        }
        logger.debug("late WebSocket upgrade relayed", metadata: ["target": "\(head.uri)"])
    }

    /// The request as it came, minus nothing: the served end parses it like a first request.
    static func serialize(_ head: HTTPRequestHead) -> ByteBuffer {
        var text = "\(head.method.rawValue) \(head.uri) HTTP/\(head.version.major).\(head.version.minor)\r\n"
        for (name, value) in head.headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return ByteBuffer(string: text)
    }
}

/// Hands the served end of a late upgrade's relay to the connection's task, which runs it as it
/// runs any connection; completed with nil when the connection ends without one.
final class LateUpgradeHandoff: Sendable {
    private let promise: EventLoopPromise<SignallingChannel.Value?>
    private let completed: NIOLoopBoundBox<Bool>

    init(channel: any Channel) {
        promise = channel.eventLoop.makePromise()
        completed = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
        let handoff = self
        channel.closeFuture.whenComplete { _ in handoff.complete(with: nil) }
    }

    var future: EventLoopFuture<SignallingChannel.Value?> { promise.futureResult }

    /// Only the first completion counts (the upgrade, or the close when there was none).
    func complete(with value: SignallingChannel.Value?) {
        guard !completed.value else { return }
        completed.value = true
        promise.succeed(value)
    }
}

/// On the client's connection after a late upgrade: client bytes go to the relay, relay bytes to
/// the client; either side closing closes the other.
final class RelayNearEnd: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?
    private var relay: (any Channel)?
    /// What the client sent before the relay was up (normally nothing: a WebSocket client waits
    /// for the 101 before it sends a frame).
    private var pending: [ByteBuffer] = []
    private var clientClosed = false

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func connect(to relay: any Channel, firstBytes: ByteBuffer) {
        guard !clientClosed else {
            relay.close(promise: nil)
            return
        }
        self.relay = relay
        relay.write(firstBytes, promise: nil)
        for bytes in pending { relay.write(bytes, promise: nil) }
        pending = []
        relay.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if let relay { relay.writeAndFlush(bytes, promise: nil) } else { pending.append(bytes) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientClosed = true
        relay?.close(promise: nil)
        context.fireChannelInactive()
    }

    /// Bytes the served end wrote, for the client.
    func send(_ bytes: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    func closeClient() {
        context?.close(promise: nil)
    }
}

/// The relay's own end of the pair: what arrives is the served end's answer, for the client.
final class RelayFarEnd: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let client: RelayNearEnd

    init(client: RelayNearEnd) { self.client = client }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        client.send(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.closeClient()
        context.fireChannelInactive()
    }
}
