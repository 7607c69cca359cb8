import HTTPTypes
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import WSClient

/// Serves a signalling WebSocket for a room that lives on another node by relaying it there:
/// every frame the client sends goes to the room's node on a WebSocket this node opens with the
/// client's own path, query and Authorization, and every frame that node answers comes back.
/// The session, its media (the ICE candidates are the owner's) and its resume all belong to the
/// owner; this node only carries signalling, a few small messages a second per client.
struct SignalRelay: Sendable {
    let owner: NodeInfo
    let nodeID: String
    let maxFrameSize: Int
    let logger: Logger

    /// The owner's answer to the same request at its `/validate` endpoint: the relay upgrades only
    /// when the owner would, and otherwise refuses with the owner's status and reason.
    func admission(target: String, authorization: String?) async -> SignallingChannel.Decision? {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = SignalPath(path: parts.first ?? "") ?? .rtc
        let validate: SignalPath = (path == .v1 || path == .v1Validate) ? .v1Validate : .rtcValidate
        let url = owner.url + validate.canonical + (parts.count > 1 ? "?" + parts[1] : "")
        do {
            let answer = try await NodeHTTP.send(.GET, url, authorization: authorization, from: nodeID)
            if answer.status == 200 { return nil }
            return .refuse(status: answer.status, reason: String(buffer: answer.body))
        } catch {
            logger.warning("cluster: room's node unreachable", metadata: ["node": "\(owner.id)", "error": "\(error)"])
            return .refuse(status: 503, reason: "the room's node \(owner.id) is unreachable; retry shortly")
        }
    }

    /// Relays until either side closes, then closes the other.
    func run(target: String, authorization: String?, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = (SignalPath(path: parts.first ?? "") ?? .rtc).canonical
        let url = owner.webSocketURL + path + (parts.count > 1 ? "?" + parts[1] : "")
        var configuration = WebSocketClientConfiguration(maxFrameSize: maxFrameSize)
        if let authorization { configuration.additionalHeaders[.authorization] = authorization }
        configuration.additionalHeaders[.init(NodeHTTP.forwardedHeader)!] = nodeID
        let maxSize = maxFrameSize, logger = self.logger
        do {
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { ownerInbound, ownerOutbound, _ in
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        // Client -> owner. The client's close (or a dropped socket) closes the owner's
                        // side, which then parks the session for a resume as for a direct client.
                        do {
                            for try await message in inbound.messages(maxSize: maxSize) {
                                switch message {
                                case .binary(let bytes): try await ownerOutbound.write(.binary(bytes))
                                case .text(let text): try await ownerOutbound.write(.text(text))
                                }
                            }
                        } catch {
                            logger.debug("cluster relay: client side ended", metadata: ["error": "\(error)"])
                        }
                        try? await ownerOutbound.close(.normalClosure, reason: nil)
                    }
                    group.addTask {
                        // Owner -> client; the owner's close ends the client's connection too.
                        do {
                            for try await message in ownerInbound.messages(maxSize: maxSize) {
                                switch message {
                                case .binary(let bytes): try await outbound.write(.binary(bytes))
                                case .text(let text): try await outbound.write(.text(text))
                                }
                            }
                        } catch {
                            logger.debug("cluster relay: owner side ended", metadata: ["error": "\(error)"])
                        }
                        try? await outbound.close(.normalClosure, reason: nil)
                    }
                    await group.waitForAll()
                }
            }
        } catch {
            logger.warning("cluster relay to the room's node failed", metadata: ["node": "\(owner.id)", "error": "\(error)"])
            try? await outbound.close(.unexpectedServerError, reason: "the room's node is unreachable")
        }
    }
}
