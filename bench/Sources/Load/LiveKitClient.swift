import Auth
import Dispatch
import Foundation
import LiveKitProto
import SwiftProtobuf
import WebRTC

/// A LiveKit signalling client against Sluice: `/rtc` WebSocket with a bearer token, binary
/// protobuf frames. Every participant answers the server's subscriber offers with its
/// `LoadSubscriber`; the publisher also adds a VP8 track and offers it once it is published.
final class LiveKitParticipant: @unchecked Sendable {
    let worker: MediaWorker
    let subscriber: LoadSubscriber
    let publisher: LoadPublisher?
    private let socket: SignalSocket
    private(set) var failure: String?
    private(set) var joined = false
    private(set) var published = false

    static func token(room: String, identity: String, canPublish: Bool, key: String, secret: String) throws -> String {
        var grant = VideoGrant()
        grant.roomJoin = true
        grant.room = room
        grant.canPublish = canPublish
        grant.canSubscribe = true
        let now = Date().timeIntervalSince1970.rounded(.down)
        let claims = AccessTokenClaims(apiKey: key, identity: identity, notBefore: now - 5, expires: now + 3600, video: grant)
        return try AccessToken.sign(claims, secret: secret)
    }

    init(port: Int, token: String, worker: MediaWorker, subscriber: LoadSubscriber, publisher: LoadPublisher?) throws {
        self.worker = worker
        self.subscriber = subscriber
        self.publisher = publisher
        socket = try SignalSocket(port: port, path: "/rtc?protocol=9&auto_subscribe=1&sdk=swift&version=0.1",
                                  headers: ["Authorization": "Bearer \(token)"])
        socket.onMessage = { [weak self] bytes in
            guard let self else { return }
            guard let response = try? Livekit_SignalResponse(serializedBytes: bytes) else { return }
            nonisolated(unsafe) let message = response
            self.worker.execute { self.handle(message) }
        }
        socket.onClose = { [weak self] why in
            guard let self else { return }
            self.worker.execute { if self.failure == nil { self.failure = "signalling closed: \(why)" } }
        }
        socket.start()
    }

    func ping() {
        var request = Livekit_SignalRequest()
        request.pingReq = Livekit_Ping.with { $0.timestamp = Int64(Date().timeIntervalSince1970 * 1000) }
        send(request)
    }

    func close() { socket.close() }

    /// Leaves as a LiveKit client does (a LeaveRequest), then closes the socket.
    func leave() {
        var request = Livekit_SignalRequest()
        request.leave = Livekit_LeaveRequest.with { $0.reason = .clientInitiated }
        send(request)
        socket.close()
    }

    private func send(_ request: Livekit_SignalRequest) {
        guard let bytes: [UInt8] = try? request.serializedBytes() else { return }
        socket.send(bytes)
    }

    /// On the worker.
    private func handle(_ response: Livekit_SignalResponse) {
        switch response.message {
        case .join:
            joined = true
            if let publisher {
                var request = Livekit_SignalRequest()
                request.addTrack = Livekit_AddTrackRequest.with {
                    $0.cid = publisher.trackID
                    $0.name = "load"
                    $0.type = .video
                    $0.source = .camera
                    $0.width = 1280
                    $0.height = 720
                }
                send(request)
            }
        case .offer(let offer):
            whenGathered(subscriber.connection, worker: worker) { [self] in
                do {
                    let sdp = try subscriber.answer(offer.sdp)
                    var request = Livekit_SignalRequest()
                    request.answer = Livekit_SessionDescription.with {
                        $0.type = "answer"
                        $0.sdp = sdp
                        $0.id = offer.id
                    }
                    send(request)
                } catch {
                    failure = "answering the subscriber offer: \(error)"
                }
            }
        case .trackPublished(let published):
            guard let publisher, published.cid == publisher.trackID else { break }
            self.published = true
            whenGathered(publisher.connection, worker: worker) { [self] in
                let sdp: String
                do { sdp = try publisher.makeOffer() } catch { failure = "publisher offer: \(error)"; return }
                var request = Livekit_SignalRequest()
                request.offer = Livekit_SessionDescription.with {
                    $0.type = "offer"
                    $0.sdp = sdp
                }
                send(request)
            }
        case .answer(let answer):
            do { try publisher?.setAnswer(answer.sdp) } catch { failure = "publisher answer: \(error)" }
        case .leave:
            failure = "the server asked us to leave"
        default:
            break
        }
    }
}
