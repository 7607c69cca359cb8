import EdgeLink
import EdgeRelay
import Foundation
import Logging
import MediaPlane
import Signal

/// The origin side of the edge relay on this node: one `EdgeOriginLink` per (room, edge node),
/// opened when an edge node asks (`POST /edge/link`, with its first viewer's token for the
/// room, which this node verifies itself) on a UDP port of its own. The link's keys derive from
/// the cluster's API secret, the two node ids and the room, so only the edge that asked can
/// speak on it; the port is handed back in the answer.
actor EdgeOrigins {
    let nodeID: String
    let apiSecret: String
    let linkHost: String
    let apiKey: String
    private let media: MediaSessions
    /// Where the data packets of a room's members go: one serial sender per edge node.
    private var dataSenders: [String: EdgeDataSender] = [:]  // by edge node id
    /// Rooms whose home hub reports its data packets here.
    private var hooked: Set<ObjectIdentifier> = []
    private let logger: Logger
    private struct Entry {
        let link: EdgeOriginLink
        let hub: RoomMediaHub
        let room: String
    }
    private var links: [String: Entry] = [:]  // by room + "\0" + edge node

    init(nodeID: String, apiKey: String, apiSecret: String, linkHost: String, media: MediaSessions, logger: Logger) {
        self.nodeID = nodeID
        self.apiKey = apiKey
        self.apiSecret = apiSecret
        self.linkHost = linkHost
        self.media = media
        self.logger = logger
    }

    enum OpenError: Error { case noMediaRoom }

    /// Opens (or reopens: the edge lost its end) the link of `room` to `edgeNode` (reached at
    /// `edgeURL` for data packets); its port.
    func open(room: String, edgeNode: String, edgeURL: String) async throws -> UInt16 {
        guard let hub = await media.hub(room: room) else { throw OpenError.noMediaRoom }
        let key = room + "\0" + edgeNode
        if let old = links.removeValue(forKey: key) { await old.link.close() }
        let endpoint = try EdgeLinkEndpoint(keys: EdgeLinkKeys(apiSecret: apiSecret, originNode: nodeID, edgeNode: edgeNode, room: room),
                                            asOrigin: true, host: linkHost, port: 0)
        // Dynacast: the edge counts as one more subscriber wanting what its viewers want.
        let link = EdgeOriginLink(endpoint: endpoint, edgeNode: edgeNode, room: hub.room, worker: hub.worker,
                                  onWantedLayersChanged: { [weak hub] track in hub?.announceWantedLayers(of: track) })
        link.start()
        links[key] = Entry(link: link, hub: hub, room: room)
        if dataSenders[edgeNode] == nil {
            dataSenders[edgeNode] = EdgeDataSender(targetURL: edgeURL, nodeID: nodeID, apiKey: apiKey, apiSecret: apiSecret)
        }
        if hooked.insert(ObjectIdentifier(hub)).inserted {
            // The room's data packets reach its edges' viewers too (in order: one stream).
            let (stream, continuation) = AsyncStream.makeStream(of: EdgeDataSender.Packet.self, bufferingPolicy: .bufferingNewest(1024))
            _ = try? await hub.worker.run {
                hub.onDataRelayed = { bytes, reliable, destinations, sender in
                    continuation.yield(.init(room: room, bytes: bytes, reliable: reliable, destinations: Array(destinations),
                                             senderSid: sender))
                }
            }
            Task { [weak self] in
                for await packet in stream { await self?.forward(packet, except: nil) }
            }
        }
        logger.info("edge link opened", metadata: ["room": "\(room)", "edge": "\(edgeNode)", "port": "\(endpoint.localPort)"])
        return endpoint.localPort
    }

    /// Passes a data packet of `packet.room` to every edge of the room but `except`.
    func forward(_ packet: EdgeDataSender.Packet, except: String?) {
        for entry in links.values where entry.room == packet.room && entry.link.edgeNode != except {
            dataSenders[entry.link.edgeNode]?.send(packet)
        }
    }

    /// A data packet an edge's viewer sent: to this node's members of the room, then to the
    /// room's other edges. False when the room has no links here.
    func deliver(room: String, _ bytes: [UInt8], reliable: Bool, destinations: Set<String>, senderSid: String?,
                 fromNode: String?) async -> Bool {
        guard links.values.contains(where: { $0.room == room }) else { return false }
        for hub in await media.hubs(room: room) {
            hub.worker.execute { hub.deliverRelayed(bytes, reliable: reliable, destinations: destinations, senderSid: senderSid) }
        }
        forward(.init(room: room, bytes: bytes, reliable: reliable, destinations: Array(destinations), senderSid: senderSid),
                except: fromNode)
        return true
    }

    /// Shows each room's members the viewers its edges serve (as remote participants, from the
    /// shared state), so the host sees its whole audience and knows who sent a data packet.
    func showEdgeViewers(rooms: RoomManager, cluster: ClusterNode) async {
        for room in Set(links.values.map(\.room)) {
            guard let viewers = try? await cluster.edgeViewers(room: room, excluding: nodeID) else { continue }
            await rooms.setRemoteParticipants(roomName: room, viewers)
        }
    }

    /// Closes the links of rooms whose media closed here.
    func sweep() async {
        for (key, entry) in links {
            guard await media.hub(room: entry.room) !== entry.hub else { continue }
            links[key] = nil
            hooked.remove(ObjectIdentifier(entry.hub))
            await entry.link.close()
            logger.info("edge link closed: its room ended here", metadata: ["room": "\(entry.room)", "edge": "\(entry.link.edgeNode)"])
        }
    }

    struct LinkCounters: Encodable {
        var room: String
        var edgeNode: String
        var tracks: [TrackSent]
        struct TrackSent: Encodable {
            var track: String
            var sentPerLayer: [String: UInt64]
            /// Packets per layer this node received of the track from its publisher.
            var publishedPerLayer: [String: UInt64]
        }
    }

    func counters() async -> [LinkCounters] {
        var result: [LinkCounters] = []
        for entry in links.values {
            let tracks = await entry.link.sentCounters().map {
                LinkCounters.TrackSent(track: $0.track,
                                       sentPerLayer: Dictionary(uniqueKeysWithValues: $0.sent.map { ("\($0.key)", $0.value) }),
                                       publishedPerLayer: Dictionary(uniqueKeysWithValues: $0.published.map { ("\($0.key)", $0.value) }))
            }
            result.append(LinkCounters(room: entry.room, edgeNode: entry.link.edgeNode, tracks: tracks))
        }
        return result.sorted { ($0.room, $0.edgeNode) < ($1.room, $1.edgeNode) }
    }
}
