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
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, status: Int, reason: String, cors: HTTPFields)
        case webSocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, Handler)
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

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
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        if case .refuse(let status, let reason) = chosen.value {
                            return .refused(http, status: status, reason: reason, cors: refusalCORS.value)
                        }
                        return .http(http)
                    }
                }))
            configuration.enablePipelining = false  // NIOAsyncChannel handles one request at a time
            configuration.enableErrorHandling = false  // Hummingbird answers errors itself
            configuration.enableResponseHeaderValidation = false  // HTTPTypes already validates
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
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
