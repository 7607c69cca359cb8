import Foundation
import SwiftProtobuf
import Testing
@testable import LiveKitProto

/// Round trips through the generated LiveKit messages, plus a few byte-exact checks that pin
/// field numbers (the Python interop test checks the whole schema against livekit-protocol).
@Suite struct LiveKitProtoTests {
    // MARK: Binary

    @Test func signalRequestPingHasLiveKitFieldNumber() throws {
        // SignalRequest.ping is field 14, varint: tag (14 << 3 | 0) = 0x70.
        var req = Livekit_SignalRequest()
        req.message = .ping(5)
        #expect(Array(try req.serializedBytes() as [UInt8]) == [0x70, 0x05])
        let back = try Livekit_SignalRequest(serializedBytes: [0x70, 0x05] as [UInt8])
        #expect(back.message == .ping(5))
    }

    @Test func signalResponseJoinRoundTrip() throws {
        var room = Livekit_Room()
        room.sid = "RM_abc"
        room.name = "shop"
        room.emptyTimeout = 300
        room.maxParticipants = 10
        room.creationTime = 1_800_000_000
        room.creationTimeMs = 1_800_000_000_123
        room.enabledCodecs = [.with { $0.mime = "video/VP8" }, .with { $0.mime = "audio/opus" }]

        var me = Livekit_ParticipantInfo()
        me.sid = "PA_me"
        me.identity = "alice"
        me.state = .joined
        me.kind = .standard
        me.version = 1
        me.attributes = ["team": "blue"]
        me.permission = .with {
            $0.canSubscribe = true
            $0.canPublish = true
            $0.canPublishData = true
            $0.canPublishSources = [.camera, .microphone]
        }
        var track = Livekit_TrackInfo()
        track.sid = "TR_v"
        track.type = .video
        track.source = .camera
        track.width = 1280
        track.height = 720
        track.layers = [.with { $0.quality = .high; $0.width = 1280; $0.height = 720; $0.rid = "f" }]
        me.tracks = [track]

        var join = Livekit_JoinResponse()
        join.room = room
        join.participant = me
        join.otherParticipants = [.with { $0.sid = "PA_bob"; $0.identity = "bob"; $0.state = .active }]
        join.serverVersion = "1.9.0"
        join.iceServers = [.with { $0.urls = ["stun:stun.example:3478"]; $0.username = "u"; $0.credential = "c" }]
        join.subscriberPrimary = true
        join.pingInterval = 5
        join.pingTimeout = 15
        join.serverInfo = .with { $0.edition = .standard; $0.version = "1.9.0"; $0.protocol = 16; $0.nodeID = "N1" }
        join.enabledPublishCodecs = [.with { $0.mime = "video/VP8" }]
        join.fastPublish = false

        var resp = Livekit_SignalResponse()
        resp.message = .join(join)

        let bytes: [UInt8] = try resp.serializedBytes()
        // join is field 1, length-delimited: first byte 0x0A.
        #expect(bytes.first == 0x0A)
        let back = try Livekit_SignalResponse(serializedBytes: bytes)
        #expect(back == resp)
        guard case .join(let j)? = back.message else {
            Issue.record("expected join, got \(String(describing: back.message))")
            return
        }
        #expect(j.room.sid == "RM_abc")
        #expect(j.participant.tracks.first?.layers.first?.rid == "f")
        #expect(j.participant.permission.canPublishSources == [.camera, .microphone])
        #expect(j.pingInterval == 5 && j.pingTimeout == 15)
        #expect(j.serverInfo.nodeID == "N1")

        let json = try resp.jsonString()
        #expect(json.contains("\"join\""))
        #expect(json.contains("\"otherParticipants\""))
        #expect(json.contains("\"pingInterval\":5"))
        #expect(try Livekit_SignalResponse(jsonString: json) == resp)
    }

    @Test func sessionDescriptionMapAndTrickle() throws {
        var sd = Livekit_SessionDescription()
        sd.type = "offer"
        sd.sdp = "v=0\r\n"
        sd.id = 7
        sd.midToTrackID = ["0": "TR_a", "1": "TR_v"]
        var req = Livekit_SignalRequest()
        req.message = .offer(sd)
        let back = try Livekit_SignalRequest(serializedBytes: try req.serializedBytes() as [UInt8])
        #expect(back == req)

        let json = try sd.jsonString()
        #expect(json.contains("\"midToTrackId\""))

        var trickle = Livekit_TrickleRequest()
        trickle.candidateInit = #"{"candidate":"candidate:1 1 udp 1 10.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}"#
        trickle.target = .subscriber
        let tj = try trickle.jsonString()
        #expect(tj.contains("\"candidateInit\""))
        #expect(tj.contains("\"target\":\"SUBSCRIBER\""))
        #expect(try Livekit_TrickleRequest(jsonString: tj) == trickle)
    }

    // MARK: JSON (Twirp application/json, webhooks)

    @Test func createRoomRequestJSONUsesLowerCamel() throws {
        var req = Livekit_CreateRoomRequest()
        req.name = "shop"
        req.emptyTimeout = 600
        req.departureTimeout = 20
        req.maxParticipants = 4
        req.metadata = "{}"

        let json = try req.jsonString()
        #expect(json.contains("\"emptyTimeout\":600"))
        #expect(json.contains("\"maxParticipants\":4"))
        #expect(json.contains("\"departureTimeout\":20"))
        #expect(try Livekit_CreateRoomRequest(jsonString: json) == req)
        #expect(try Livekit_CreateRoomRequest(serializedBytes: try req.serializedBytes() as [UInt8]) == req)

        // What a JSON Twirp client sends; proto names are accepted too.
        let fromClient = try Livekit_CreateRoomRequest(
            jsonString: #"{"name":"shop","empty_timeout":600,"maxParticipants":4,"departureTimeout":20,"metadata":"{}"}"#)
        #expect(fromClient == req)
    }

    @Test func webhookEventJSON() throws {
        var ev = Livekit_WebhookEvent()
        ev.event = "egress_ended"
        ev.id = "EV_1"
        ev.createdAt = 1_800_000_000
        ev.room = .with { $0.sid = "RM_1"; $0.name = "shop" }
        ev.egressInfo = .with {
            $0.egressID = "EG_1"
            $0.roomName = "shop"
            $0.status = .egressComplete
            $0.endedAt = 1_800_000_001_000_000_000
            $0.fileResults = [.with { $0.filename = "out.mp4"; $0.size = 1234; $0.duration = 5_000_000_000 }]
            $0.roomComposite = .with {
                $0.roomName = "shop"
                $0.layout = "grid"
                $0.fileOutputs = [.with { $0.fileType = .mp4; $0.filepath = "out.mp4" }]
            }
        }
        let json = try ev.jsonString()
        #expect(json.contains("\"createdAt\":\"1800000000\""))  // int64 as string
        #expect(json.contains("\"egressInfo\""))
        #expect(json.contains("\"status\":\"EGRESS_COMPLETE\""))
        #expect(json.contains("\"fileType\":\"MP4\""))
        #expect(try Livekit_WebhookEvent(jsonString: json) == ev)
        #expect(try Livekit_WebhookEvent(serializedBytes: try ev.serializedBytes() as [UInt8]) == ev)
    }

    // MARK: Data packets

    @Test func dataPacketUserRoundTripAndOptionalTopic() throws {
        var pkt = Livekit_DataPacket()
        pkt.kind = .reliable
        pkt.participantIdentity = "alice"
        pkt.participantSid = "PA_a"
        pkt.destinationIdentities = ["bob"]
        pkt.sequence = 3
        pkt.user = .with { $0.payload = Data([1, 2, 3]); $0.participantIdentity = "alice" }
        #expect(!pkt.user.hasTopic)
        pkt.user.topic = ""
        #expect(pkt.user.hasTopic)  // proto3 optional keeps presence

        let back = try Livekit_DataPacket(serializedBytes: try pkt.serializedBytes() as [UInt8])
        #expect(back == pkt)
        #expect(back.user.hasTopic)
        guard case .user(let u)? = back.value else {
            Issue.record("expected user packet")
            return
        }
        #expect(u.payload == Data([1, 2, 3]))
    }

    @Test func dataPacketUnknownOneofMemberSurvivesRelay() throws {
        // Field 8 (metrics) is not in our subset; it must be kept as unknown bytes when relayed.
        var pkt = Livekit_DataPacket()
        pkt.participantIdentity = "a"
        var bytes: [UInt8] = try pkt.serializedBytes()
        bytes += [0x42, 0x02, 0x08, 0x01]  // field 8, length 2, payload {1: 1}
        let decoded = try Livekit_DataPacket(serializedBytes: bytes)
        #expect(decoded.participantIdentity == "a")
        #expect(decoded.value == nil)
        let reencoded: [UInt8] = try decoded.serializedBytes()
        #expect(reencoded == bytes)
    }

    // MARK: Garbage

    @Test func garbageBytesThrow() {
        // Truncated length-delimited field.
        #expect(throws: (any Error).self) {
            _ = try Livekit_SignalRequest(serializedBytes: [0x0A, 0x05, 0x01] as [UInt8])
        }
        // Field number 0 is never valid.
        #expect(throws: (any Error).self) {
            _ = try Livekit_SignalResponse(serializedBytes: [0x00, 0x01] as [UInt8])
        }
        // Over-long varint.
        #expect(throws: (any Error).self) {
            _ = try Livekit_DataPacket(serializedBytes: [UInt8](repeating: 0xFF, count: 12))
        }
        #expect(throws: (any Error).self) {
            _ = try Livekit_CreateRoomRequest(jsonString: "{not json")
        }
        #expect(throws: (any Error).self) {
            _ = try Livekit_CreateRoomRequest(jsonString: #"{"emptyTimeout":"soon"}"#)
        }
    }
}
