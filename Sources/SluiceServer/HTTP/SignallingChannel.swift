import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
@_spi(WSInternal) import WSCore

/// An HTTP/1 server channel that upgrades to WebSocket when `accept` says so and otherwise
/// answers the upgrade request with the status and reason `accept` gives.
///
/// hummingbird-websocket answers every refused upgrade with an empty 400. LiveKit clients need
/// more: the Rust SDK falls back from `/rtc/v1` to `/rtc` only on a 404, and a refused `/rtc`
/// should carry LiveKit's status and reason (401 "invalid token: ..."). Requests without an
/// Upgrade header go to the router as usual. Refusals carry the same CORS headers as the router's
/// answers, so every HTTP answer the server gives follows one policy.
struct SignallingChannel: ServerChildChannel, HTTPChannelHandler {
    struct Context: WebSocketContext {
        let logger: Logger
    }

    typealias Handler = WebSocketDataHandler<Context>

    enum Decision: Sendable {
        case upgrade(Handler)
        case refuse(status: Int, reason: String)
    }

    /// Decides an upgrade from the request target and Authorization header.
    typealias Accept = @Sendable (_ target: String, _ authorization: String?) async -> Decision

    enum Negotiated: Sendable {
        /// Plain HTTP; `lateUpgrade` delivers the relayed connection of a WebSocket upgrade sent as
        /// a later request (nil when the connection ends without one).
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, lateUpgrade: EventLoopFuture<Value?>)
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, status: Int, reason: String, cors: HTTPFields)
        case webSocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, Handler)
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    /// How long a connection may stay silent before it is closed.
    static let idleReadTimeout = TimeAmount.seconds(60)
    /// How long a new connection has to send its first request head (LiveKit clients send it
    /// at once; a browser's preconnect that never sends one is closed too).
    static let firstRequestDeadline = TimeAmount.seconds(10)

    let responder: HTTPChannelHandler.Responder
    let accept: Accept
    let maxFrameSize: Int
    let cors: CORSPolicy

    static func builder(maxFrameSize: Int, cors: CORSPolicy, accept: @escaping Accept) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            SignallingChannel(responder: responder, accept: accept, maxFrameSize: maxFrameSize, cors: cors)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // The handler chosen while negotiating, read once the upgrade completes (same loop).
            let chosen = NIOLoopBoundBox<Decision?>(nil, eventLoop: channel.eventLoop)
            // The CORS headers a refusal carries, worked out from the upgrade request's Origin.
            let refusalCORS = NIOLoopBoundBox<HTTPFields>(HTTPFields(), eventLoop: channel.eventLoop)
            let accept = self.accept, cors = self.cors
            let handoff = LateUpgradeHandoff(channel: channel)
            let serveRelayed: LateUpgradeInterceptor.ServeRelayed = { [self] relayed in self.setup(channel: relayed, logger: logger) }
            let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
                maxFrameSize: maxFrameSize,
                shouldUpgrade: { channel, head in
                    let target = head.uri
                    let authorization = head.headers.first(name: "authorization")
                    var request = HTTPFields()
                    if let origin = head.headers.first(name: "origin") { request[.origin] = origin }
                    var corsHeaders = HTTPFields()
                    cors.decorate(&corsHeaders, method: .get, request: request)
                    refusalCORS.value = corsHeaders
                    return channel.eventLoop.makeFutureWithTask { await accept(target, authorization) }
                        .map { decision -> HTTPHeaders? in
                            chosen.value = decision
                            if case .upgrade = decision { return HTTPHeaders() }
                            return nil
                        }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .upgrade(let handler) = chosen.value else { throw ChannelError.inappropriateOperationForState }
                        let ws = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        return .webSocket(ws, handler)
                    }
                })
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Negotiated>(
                upgradeConfiguration: .init(upgraders: [upgrader], notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // From here Hummingbird answers parse errors itself (400, close); NIO's
                        // handler would answer them a second time.
                        let nioErrors = try channel.pipeline.syncOperations.handler(type: HTTPServerProtocolErrorHandler.self)
                        channel.pipeline.syncOperations.removeHandler(nioErrors, promise: nil)
                        // A WebSocket upgrade on a later request of this connection is relayed to a
                        // connection of its own (see LateUpgradeInterceptor).
                        try channel.pipeline.syncOperations.addHandler(
                            LateUpgradeInterceptor(handoff: handoff, logger: logger, serve: serveRelayed))
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
                        try channel.pipeline.syncOperations.addHandler(CloseAfterResponse())
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        if case .refuse(let status, let reason) = chosen.value {
                            return .refused(http, status: status, reason: reason, cors: refusalCORS.value)
                        }
                        return .http(http, lateUpgrade: handoff.future)
                    }
                }))
            configuration.enablePipelining = false  // NIOAsyncChannel handles one request at a time
            // NIO answers a request it cannot parse (headers over 80 KB, garbage) with 400 and
            // closes. Without it a bad *first* request, seen before Hummingbird takes over, left
            // the connection waiting for an upgrade decision that never came.
            configuration.enableErrorHandling = true
            configuration.enableResponseHeaderValidation = false  // HTTPTypes already validates
            // First in the pipeline, for the connection's whole life: a peer that sends nothing for
            // `idleReadTimeout` (a half-open socket, a client that stalls mid-request) is closed.
            // WebSocket peers are pinged every 30 s and answer with a pong, which counts as a read.
            try channel.pipeline.syncOperations.addHandlers([
                IdleStateHandler(readTimeout: Self.idleReadTimeout), IdleConnectionCloser(),
            ])
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            // A client that trickles its first request a byte at a time never trips the idle
            // timeout (slowloris): its request head must be complete within `firstRequestDeadline`.
            let deadline = channel.eventLoop.scheduleTask(in: Self.firstRequestDeadline) { channel.close(promise: nil) }
            negotiated.whenComplete { _ in deadline.cancel() }
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http(let http, let lateUpgrade):
                // HTTP requests are served until the connection ends or a late upgrade takes its
                // bytes over; the relayed connection is then served here, like a new one.
                await withDiscardingTaskGroup { group in
                    group.addTask { await handleHTTP(asyncChannel: http, logger: logger) }
                    group.addTask {
                        if let relayed = try? await lateUpgrade.get() { await handle(value: relayed, logger: logger) }
                    }
                }
            case .refused(let http, let status, let reason, let cors):
                // The decoder stops after an upgrade request, so answer here and close.
                try await http.executeThenClose { _, outbound in
                    let body = ByteBuffer(string: reason)
                    var fields: HTTPFields = [
                        .connection: "close", .contentType: "text/plain; charset=utf-8",
                        .contentLength: "\(body.readableBytes)",
                    ]
                    fields.append(contentsOf: cors)
                    let head = HTTPResponse(status: .init(code: status), headerFields: fields)
                    try await outbound.write(contentsOf: [.head(head), .body(body), .end(nil)])
                }
            case .webSocket(let ws, let handler):
                _ = try await WebSocketHandler.handle(
                    type: .server,
                    configuration: .init(extensions: [], autoPing: .enabled(timePeriod: .seconds(30)), validateUTF8: false,
                                         maxFrameSize: maxFrameSize),
                    asyncChannel: ws, context: Context(logger: logger), handler: handler)
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }
}

/// Closes a connection when `IdleStateHandler` reports that nothing was read for too long.
final class IdleConnectionCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Closes the connection once a response that says `Connection: close` is written: Hummingbird
/// closes only when the request asked, and a refused late upgrade leaves the HTTP decoder stopped,
/// so the connection could carry nothing more anyway.
final class CloseAfterResponse: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    private var closing = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            closing = head.headerFields[.connection]?.lowercased() == "close"
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closing else {
                context.write(data, promise: promise)
                return
            }
            context.writeAndFlush(data, promise: promise)
            context.close(promise: nil)
        }
    }
}
