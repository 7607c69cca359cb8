import Auth
import Foundation
import LiveKitProto
import Logging
import Testing
@testable import Signal
@testable import Store

/// An edge room's remote participants (another node's members copied into this node's room):
/// shown to local members, announced when they change, never counted or stored as this node's,
/// and the room's start and end are not this node's to announce.
@Suite struct EdgeRoomMembersTests {
    func makeRooms() throws -> RoomManager {
        let store = try SluiceStore(path: FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-edge-\(UUID().uuidString).sqlite").path)
        return RoomManager(store: store, defaults: RoomDefaults(), logger: Logger(label: "t"))
    }

    func remote(_ sid: String, _ identity: String, tracks: [String] = []) -> Livekit_ParticipantInfo {
        Livekit_ParticipantInfo.with {
            $0.sid = sid
            $0.identity = identity
            $0.state = .active
            $0.tracks = tracks.map { track in Livekit_TrackInfo.with { $0.sid = track } }
        }
    }

    @Test func remoteParticipantsAreShownToLocalViewersAndFollowTheOrigin() async throws {
        let rooms = try makeRooms()
        let events = EventLog()
        await rooms.observe { events.append($0) }
        await rooms.markEdge("sale", true)
        _ = try await rooms.createRoom(name: "sale")
        await rooms.setRemoteParticipants(roomName: "sale", [remote("PA_host", "host", tracks: ["TR_cam"])])

        let sink = RecordingSink()
        let joined = try await rooms.join(roomName: "sale", JoinParameters(
            identity: "viewer", name: "viewer", grant: VideoGrant(roomJoin: true, room: "sale", canPublish: false)), sink: sink)
        #expect(joined.otherParticipants.map(\.identity) == ["host"])
        #expect(joined.otherParticipants.first?.tracks.map(\.sid) == ["TR_cam"])

        // Unchanged: nothing said. A new track: one update. Gone: the viewer sees it leave.
        await rooms.setRemoteParticipants(roomName: "sale", [remote("PA_host", "host", tracks: ["TR_cam"])])
        #expect(sink.updates.isEmpty)
        await rooms.setRemoteParticipants(roomName: "sale", [remote("PA_host", "host", tracks: ["TR_cam", "TR_mic"])])
        #expect(sink.updates.map { $0.tracks.count } == [2])
        await rooms.setRemoteParticipants(roomName: "sale", [])
        #expect(sink.updates.last?.state == .disconnected)

        // This node's own: only the viewer; the census does not count remote participants.
        await rooms.setRemoteParticipants(roomName: "sale", [remote("PA_host", "host")])
        #expect(try await rooms.localParticipants(roomName: "sale").map(\.identity) == ["viewer"])
        #expect(try await rooms.participants(roomName: "sale").map(\.identity).sorted() == ["host", "viewer"])
        #expect(await rooms.census().participants == 1)
        // The host's identity joining here (it moved to this node): its copy goes without events.
        let hostSink = RecordingSink()
        _ = try await rooms.join(roomName: "sale", JoinParameters(
            identity: "host", name: "host", grant: VideoGrant(roomJoin: true, room: "sale")), sink: hostSink)
        #expect(try await rooms.participants(roomName: "sale").filter { $0.identity == "host" }.count == 1)
        #expect(sink.updates.contains { $0.sid == "PA_host" && $0.state == .disconnected })
        // Webhook-feeding events: the local joins only (not the edge room's start, not the copies).
        #expect(events.names == ["participantJoined:viewer", "participantJoined:host"])
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [String] = []
    func append(_ event: RoomEvent) {
        let name: String
        switch event {
        case .started(let room): name = "started:\(room.name)"
        case .finished(let room): name = "finished:\(room.name)"
        case .participantJoined(_, let p): name = "participantJoined:\(p.identity)"
        case .participantLeft(_, let p): name = "participantLeft:\(p.identity)"
        case .trackPublished(_, let p, _): name = "trackPublished:\(p.identity)"
        case .trackUnpublished(_, let p, _): name = "trackUnpublished:\(p.identity)"
        }
        lock.withLock { events.append(name) }
    }
    var names: [String] { lock.withLock { events } }
}
