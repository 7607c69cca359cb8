import Redis
import MediaPlane
import Auth
import Foundation
import Hummingbird
import HummingbirdWebSocket
import LiveKitProto
import Logging
import ServiceLifecycle
import Signal
import Store

/// Wires configuration, store, rooms and HTTP routes into a runnable server.
public final class SluiceApplication: Sendable {
    public let config: ServerConfig
    public let logger: Logger
    public let store: SluiceStore
    public let rooms: RoomManager
    let tokens: AccessToken
    let webhooks: WebhookNotifier
    /// WHIP/WHEP sessions and the media rooms they run in.
    let mediaSessions: MediaSessions
    let whipMembership: WHIPMembership
    /// LiveKit sessions whose WebSocket dropped, waiting a few seconds for the client to resume.
    let resumableSessions = ResumableSessions()
    /// Built-in recording: the Egress API's state and its recordings.
    let egress: EgressManager
    /// Set on the first SIGTERM when `shutdown.drain_timeout` is configured.
    let drain = DrainState()

    /// This node's membership of a cluster, when `redis` is configured.
    let cluster: ClusterNode?
    /// The edge relay's two sides (in a cluster with `cluster.edge_relay`): the links this node
    /// serves as a room's origin, and its edge copies of rooms that live elsewhere.
    let edgeOrigins: EdgeOrigins?
    let edgeRooms: EdgeRooms?

    /// The demo web app's routes, when `webapp` is enabled.
    let webApp: WebAppRoutes?

    /// Seconds between sweeps that close rooms left empty past their timeout.
    let idleSweepInterval: Duration

    public init(config: ServerConfig, logger: Logger, idleSweepInterval: Duration = .seconds(1)) throws {
        guard !config.keys.isEmpty else {
            throw ConfigError(key: "keys", line: nil,
                              "no API keys configured: add `keys: {key: secret}`, set LIVEKIT_KEYS, or use --dev")
        }
        self.config = config
        self.logger = logger
        self.store = try SluiceStore(path: config.storagePath)
        self.tokens = AccessToken(keys: config.keys)
        let rooms = RoomManager(
            store: store,
            defaults: RoomDefaults(emptyTimeout: config.room.emptyTimeout, departureTimeout: config.room.departureTimeout,
                                   maxParticipants: config.room.maxParticipants, autoCreate: config.room.autoCreate),
            logger: logger)
        self.rooms = rooms
        self.idleSweepInterval = idleSweepInterval
        let membership = WHIPMembership(rooms: rooms)
        self.whipMembership = membership
        self.mediaSessions = try MediaSessions(
            settings: MediaSessions.Settings(config: config), logger: logger,
            onSessionEnded: { session in
                Task { await membership.sessionEnded(session.id) }
            })
        let webhookKey = config.webhook.apiKey.isEmpty ? (config.keys.keys.sorted().first ?? "") : config.webhook.apiKey
        self.webhooks = WebhookNotifier(urls: config.webhook.urls, apiKey: webhookKey,
                                        apiSecret: config.keys[webhookKey] ?? "", logger: logger,
                                        capacity: Int(config.webhook.queueSize),
                                        retryFor: .seconds(Int64(config.webhook.retrySeconds)))
        self.egress = EgressManager(store: store, rooms: rooms, media: SFUEgressMedia(sessions: mediaSessions),
                                    webhooks: webhooks, recordingsPath: config.recordingsPath,
                                    uploads: EgressManager.Uploads(config.recordingsS3), limits: config.recordingLimits,
                                    logger: logger)
        self.webApp = config.webapp.isEnabled ? try WebAppRoutes(config: config) : nil
        if let redis = config.redis {
            let id = config.cluster.nodeID.isEmpty ? "ND_" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12))
                : config.cluster.nodeID
            let linkHost = config.cluster.edgeRelay ? Self.edgeLinkHost(config) : nil
            let cluster = ClusterNode(id: id, url: Self.advertisedURL(config), edgeLinkHost: linkHost,
                                      redis: RedisClient(settings: redis), rooms: rooms, logger: logger)
            self.cluster = cluster
            if let linkHost {
                // Every node holds the same keys; the links' keys derive from the first one's secret.
                let key = config.keys.keys.sorted().first ?? ""
                let secret = config.keys[key] ?? ""
                edgeOrigins = EdgeOrigins(nodeID: id, apiKey: key, apiSecret: secret, linkHost: linkHost, media: mediaSessions,
                                          logger: logger)
                edgeRooms = EdgeRooms(nodeID: id, apiKey: key, apiSecret: secret, linkHost: linkHost, rooms: rooms,
                                      media: mediaSessions, cluster: cluster, logger: logger)
            } else {
                edgeOrigins = nil
                edgeRooms = nil
            }
        } else {
            self.cluster = nil
            edgeOrigins = nil
            edgeRooms = nil
        }
    }

    /// The base URL other nodes reach this one at.
    static func advertisedURL(_ config: ServerConfig) -> String {
        if !config.cluster.advertiseURL.isEmpty {
            return config.cluster.advertiseURL.hasSuffix("/") ? String(config.cluster.advertiseURL.dropLast()) : config.cluster.advertiseURL
        }
        var host = config.rtc.nodeIP.isEmpty ? (config.bindAddresses.first ?? "127.0.0.1") : config.rtc.nodeIP
        if host == "0.0.0.0" || host == "::" { host = "127.0.0.1" }
        if host.contains(":") { host = "[\(host)]" }
        return "http://\(host):\(config.port)"
    }

    /// The IPv4 address edge links bind and advertise: `cluster.edge_link_host`, else
    /// `rtc.node_ip`, else the first IPv4 bind address, else loopback.
    static func edgeLinkHost(_ config: ServerConfig) -> String {
        func isIPv4(_ host: String) -> Bool {
            let parts = host.split(separator: ".", omittingEmptySubsequences: false)
            return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
        }
        if !config.cluster.edgeLinkHost.isEmpty { return config.cluster.edgeLinkHost }
        if isIPv4(config.rtc.nodeIP) { return config.rtc.nodeIP }
        if let bound = config.bindAddresses.first(where: { isIPv4($0) && $0 != "0.0.0.0" }) { return bound }
        return "127.0.0.1"
    }

    /// Connects room events to webhooks. Idempotent enough for one call at start.
    func connectWebhooks() async {
        let webhooks = self.webhooks
        guard await webhooks.isEnabled else { return }
        await rooms.observe { event in
            var hook = Livekit_WebhookEvent()
            switch event {
            case .started(let room):
                hook.event = "room_started"
                hook.room = room.proto
            case .finished(let room):
                hook.event = "room_finished"
                hook.room = room.proto
            case .participantJoined(let room, let participant):
                hook.event = "participant_joined"
                hook.room = room.proto
                hook.participant = participant
            case .participantLeft(let room, let participant):
                hook.event = "participant_left"
                hook.room = room.proto
                hook.participant = participant
            case .trackPublished(let room, let participant, let track):
                hook.event = "track_published"
                hook.room = room.proto
                hook.participant = participant
                hook.track = track
            case .trackUnpublished(let room, let participant, let track):
                hook.event = "track_unpublished"
                hook.room = room.proto
                hook.participant = participant
                hook.track = track
            }
            Task { await webhooks.send(hook) }
        }
    }

    /// All HTTP routes. Tests drive this router in-process.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        // LiveKit answers its health check at `/` with 200 "OK".
        router.get("/") { _, _ in "OK" }

        let signal = signalEndpoint
        router.get("/rtc") { request, _ in await signal.validate(request, upgradeAttempt: true) }
        router.get("/rtc/validate") { request, _ in await signal.validate(request, upgradeAttempt: false) }
        // Single-peer-connection signalling, unless switched off. Then a 404 is what makes SDKs
        // fall back to `/rtc`: livekit-client 2.17+ asks `/rtc/v1/validate` after its upgrade
        // fails and falls back on a 404 whose body does not say "requested room does not exist"
        // (any other status, or a 404 with that text, ends the connection attempt instead).
        if config.rtc.singlePeerConnection {
            router.get("/rtc/v1") { request, _ in await signal.validate(request, upgradeAttempt: true) }
            router.get("/rtc/v1/validate") { request, _ in await signal.validate(request, upgradeAttempt: false) }
        } else {
            router.get("/rtc/v1") { _, _ in SignalEndpoint.v1NotServed }
            router.get("/rtc/v1/validate") { _, _ in SignalEndpoint.v1NotServed }
        }

        let twirpServices = [
            RoomService(rooms: rooms, media: mediaSessions, drain: drain, cluster: cluster).router(),
            EgressService(rooms: rooms, media: SFUEgressMedia(sessions: mediaSessions), manager: egress, cluster: cluster).router(),
        ] + UnservedServices.routers
        let byName = Dictionary(uniqueKeysWithValues: twirpServices.map { ($0.service, $0) })
        let tokens = self.tokens
        let logger = self.logger
        let clusterRouting = cluster.map { ClusterTwirpRouting(node: $0, tokens: tokens, logger: logger) }
        router.post("/twirp/:service/:method") { request, context in
            let serviceName = context.parameters.get("service") ?? ""
            let method = context.parameters.get("method") ?? ""
            guard let service = byName[serviceName] else {
                return TwirpRouter.errorResponse(TwirpError(.badRoute, "unknown service \(serviceName)"))
            }
            var request = request
            if let clusterRouting {
                // The body is read once here to find the call's room; the local router reads it again.
                guard let body = try? await request.body.collect(upTo: TwirpRouter.maxBodySize) else {
                    return TwirpRouter.errorResponse(TwirpError(.malformed, "request body too large or unreadable"))
                }
                if let answer = await clusterRouting.forwardIfElsewhere(request, service: serviceName, method: method, body: body) {
                    return answer
                }
                request = Request(head: request.head, body: .init(buffer: body))
            }
            return await service.respond(to: request, method: method, tokens: tokens, logger: logger)
        }
        WHIPRoutes(app: self).register(on: router)
        AdminRoutes(media: mediaSessions, tokens: tokens, edgeOrigins: edgeOrigins, edgeRooms: edgeRooms).register(on: router)
        if let edgeOrigins, let edgeRooms, let cluster {
            EdgeLinkRoute(origins: edgeOrigins, tokens: tokens, cluster: cluster).register(on: router)
            EdgeDataRoute(origins: edgeOrigins, edges: edgeRooms, tokens: tokens).register(on: router)
        }
        RecordingDownload(egress: egress, tokens: tokens, recordingsPath: config.recordingsPath).register(on: router)
        webApp?.register(on: router)
        return router
    }

    /// The metrics listener's routes: `/metrics` in Prometheus' text format, as LiveKit serves it.
    static func metricsRouter(_ metrics: SluiceMetrics) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/metrics") { _, _ -> Response in
            let body = await metrics.scrape()
            return Response(status: .ok,
                            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        return router
    }

    var resourceLimits: ResourceLimits {
        ResourceLimits(portRange: mediaSessions.settings.portRange, addresses: mediaSessions.settings.localAddresses.count,
                       media: mediaSessions)
    }

    /// The router behind CORS and signalling-path handling: what the server runs, and what
    /// tests should drive to see the answers a browser sees.
    public func makeResponder() -> some HTTPResponder<BasicRequestContext> {
        FrontResponder(inner: makeRouter().buildResponder(), cors: cors)
    }

    var cors: CORSPolicy { CORSPolicy(allowedOrigins: config.cors.allowedOrigins) }

    var signalEndpoint: SignalEndpoint {
        SignalEndpoint(admission: RTCAdmission(tokens: tokens, rooms: rooms, resources: resourceLimits, drain: drain),
                       rooms: rooms, media: mediaSessions, resumable: resumableSessions, resources: resourceLimits,
                       singlePeerConnection: config.rtc.singlePeerConnection, iceServers: ICEServerDirectory(config: config),
                       logger: logger, cluster: cluster, edgeRooms: edgeRooms)
    }

    /// Raises the open-file limit and says what the server can hold: descriptors and the UDP
    /// port range, each as participants, with a warning when one of them is the smaller bound.
    func reportCapacity() {
        let settings = mediaSessions.settings
        let addresses = max(1, settings.localAddresses.count)
        var metadata: Logger.Metadata = [:]
        var byFiles: Int?
        if let files = ResourceLimits.raiseOpenFileLimit() {
            metadata["open_files_soft_before"] = "\(files.before)"
            metadata["open_files_soft"] = "\(files.after)"
            metadata["open_files_hard"] = "\(files.hard)"
            byFiles = Int(clamping: (files.after - min(files.after, UInt64(ResourceLimits.reservedFiles)))
                / UInt64(2 + (settings.iceTCP ? 4 : 2) * addresses))  // ICE-TCP: a listening socket per UDP one
            metadata["participants_by_open_files"] = "\(byFiles!)"
        }
        let byPorts = ResourceLimits.participantCapacity(portRange: settings.portRange, addresses: addresses)
        if let range = settings.portRange, let byPorts {
            metadata["udp_ports"] = "\(range.lowerBound)-\(range.upperBound)"
            metadata["participants_by_udp_ports"] = "\(byPorts)"
        }
        logger.info("capacity", metadata: metadata)
        if config.rtc.useExternalIP {
            // Taken so livekit.yaml files load, but Sluice does no STUN lookup (see README, NAT).
            logger.warning("rtc.use_external_ip is not implemented: candidates carry the bind addresses or rtc.node_ip")
        }
        if let byPorts, byPorts < 50 {
            logger.warning("rtc port range is small: it holds \(byPorts) participants (2 UDP ports each); widen rtc.port_range_start/end")
        }
        if let byFiles, let byPorts, byFiles < byPorts {
            logger.warning("the open-file limit (\(ResourceLimits.openFileLimit()?.soft ?? 0)) allows fewer participants (\(byFiles)) than the port range (\(byPorts)); raise `ulimit -n` (hard limit) for the service")
        }
    }

    /// Runs until SIGINT/SIGTERM: one HTTP listener per bind address plus the idle-room sweeper.
    public func run() async throws {
        if MallocTuning.apply() {
            logger.debug("malloc maps blocks of \(MallocTuning.mmapThreshold) bytes and more on their own (see MallocTuning)")
        }
        reportCapacity()
        await connectWebhooks()
        await egress.recoverInterrupted()
        await egress.observeRooms()
        try await rooms.restore()
        var services: [any Service] = []
        if let cluster {
            // A Redis that cannot be reached or refuses the login stops the start with its reason.
            try await cluster.join()
            await egress.shareState { info in await cluster.publishEgress(info) }
            services.append(ClusterNodeService(node: cluster))
            if let edgeOrigins {
                // Links of rooms that closed here end with them.
                let rooms = self.rooms
                Task {
                    var ticks = 0
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(250))
                        ticks += 1
                        // The audience on the edges, as their copies are synced (every 250 ms).
                        await edgeOrigins.showEdgeViewers(rooms: rooms, cluster: cluster)
                        if ticks % 8 == 0 { await edgeOrigins.sweep() }
                    }
                }
            }
        }
        for address in config.bindAddresses {
            let signal = signalEndpoint
            let app = Application(
                responder: makeResponder(),
                server: SignallingChannel.builder(maxFrameSize: SignalEndpoint.maxMessageSize, cors: cors) { target, authorization in
                    await signal.accept(target: target, authorization: authorization)
                },
                // A first minute of a sale opens hundreds of sockets at once: the default queue
                // of 256 pending connections drops SYNs and makes clients wait a second per retry.
                configuration: .init(address: .hostname(address, port: config.port), serverName: "sluice", backlog: 2048),
                logger: logger)
            services.append(app)
        }
        if config.prometheusPort != 0 {
            let metrics = SluiceMetrics(rooms: rooms, media: mediaSessions, egress: egress, webhooks: webhooks,
                                        resumable: resumableSessions, drain: drain)
            for address in config.bindAddresses {
                services.append(Application(
                    router: Self.metricsRouter(metrics),
                    configuration: .init(address: .hostname(address, port: config.prometheusPort), serverName: "sluice"),
                    logger: logger))
            }
            logger.info("metrics listening", metadata: [
                "addresses": "\(config.bindAddresses.map { "\($0):\(config.prometheusPort)/metrics" })"])
        }
        services.append(IdleRoomSweeper(rooms: rooms, interval: idleSweepInterval))
        services.append(EgressShutdown(egress: egress))
        var configurations = services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
        let draining = config.shutdown.drainTimeout > 0
        if draining {
            // SIGTERM starts the drain instead of the shutdown; the drain's end shuts the group down.
            configurations.append(.init(
                service: DrainOnSIGTERM(drain: drain, rooms: rooms, timeout: .seconds(Int(config.shutdown.drainTimeout)),
                                        logger: logger),
                successTerminationBehavior: .gracefullyShutdownGroup))
        }
        logger.info("sluice listening", metadata: [
            "addresses": "\(config.bindAddresses.map { "\($0):\(config.port)" })",
            "storage": "\(config.storagePath)",
            // Where recordings go by default; the destination's description leaves the secret out.
            "recordings": .string(config.recordingsPath
                + (config.recordingsS3.map { ", uploaded to \(S3Destination($0))" } ?? "")),
        ])
        let group = ServiceGroup(
            configuration: .init(services: configurations, gracefulShutdownSignals: draining ? [.sigint] : [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Periodically closes rooms that stayed empty past their timeout.
struct IdleRoomSweeper: Service {
    let rooms: RoomManager
    let interval: Duration

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // The sleep ends with a graceful shutdown: the group stops its services one after
            // another, and a sweeper finishing its nap would delay every exit by up to `interval`.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isShuttingDownGracefully { break }
            await rooms.closeIdleRooms()
        }
    }
}

/// On graceful shutdown (SIGTERM/SIGINT), closes every recording so its file is complete and its
/// egress COMPLETE, instead of leaving it to the restart to mark FAILED.
struct EgressShutdown: Service {
    let egress: EgressManager

    func run() async throws {
        try? await gracefulShutdown()
        await egress.stopAll()
    }
}
