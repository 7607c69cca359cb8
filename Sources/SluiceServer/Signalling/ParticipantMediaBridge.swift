import MediaPlane
import LiveKitProto
import Logging
import Signal

/// Carries the media half of LiveKit signalling between a participant's `SignalSession` (tracks
/// as the room sees them) and its `RTCParticipant` (peer connections on the media worker):
/// SDP offers and answers, trickled candidates and subscription changes.
struct ParticipantMediaBridge: Sendable {
    let session: SignalSession
    let media: RTCParticipant
    let sink: any SignalSink
    let logger: Logger

    /// Handles `request` when it is a media request; false for everything else.
    func handle(_ request: Livekit_SignalRequest) async -> Bool {
        switch request.message {
        case .offer(let offer):
            await session.touch()
            await publisherOffer(offer)
        case .answer(let answer):
            await session.touch()
            let media = self.media
            do {
                try await media.worker.run { try media.subscriberAnswered(sdp: answer.sdp) }
            } catch {
                await refuse("subscriber answer rejected", error)
            }
        case .trickle(let trickle):
            await session.touch()
            let media = self.media
            do {
                try await media.worker.run { try media.addCandidate(trickle.candidateInit, target: trickle.target) }
            } catch {
                // A bad candidate is the client's loss only: log it and carry on.
                logger.debug("trickle candidate ignored", metadata: ["participant": "\(media.sid)", "error": "\(error)"])
            }
        case .subscription(let update):
            await session.touch()
            let media = self.media
            let sids = update.trackSids + update.participantTracks.flatMap(\.trackSids)
            let subscribe = update.subscribe
            _ = try? await media.worker.run { media.hub?.setSubscribed(media, trackSids: sids, subscribe: subscribe) }
        case .trackSetting(let settings):
            await session.touch()
            let media = self.media
            _ = try? await media.worker.run {
                for track in media.updateTrackSettings(settings) { media.hub?.announceWantedLayers(of: track) }
            }
        default:
            return false
        }
        return true
    }

    /// Answers a publisher offer (echoing its id, which JS clients require), then publishes the
    /// tracks its new m-lines carry: the room hears of them before anyone's subscriber offer.
    private func publisherOffer(_ offer: Livekit_SessionDescription) async {
        let media = self.media
        let result: (answer: String, added: [PublisherMedia], removed: [String], midToTrackID: [String: String])
        do {
            result = try await media.worker.run { try media.answerPublisher(sdp: offer.sdp) }
        } catch {
            await refuse("publisher offer rejected", error)
            return
        }
        var response = Livekit_SignalResponse()
        response.answer = Livekit_SessionDescription.with {
            $0.type = "answer"
            $0.sdp = result.answer
            $0.id = offer.id
            $0.midToTrackID = result.midToTrackID
        }
        sink.send(response)
        if media.singlePeerConnection {
            // More subscriptions than the offer had slots for, or ended ones: ask for another offer.
            _ = try? await media.worker.run { media.negotiateSubscriber() }
        }
        let bound = await session.publisherMediaChanged(added: result.added, removed: result.removed)
        guard !bound.isEmpty else { return }
        let bindings = bound.map { (line: $0.line, track: $0.track) }
        _ = try? await media.worker.run { media.bind(bindings) }
    }

    /// SDP we cannot use ends the session with a reason: the client cannot go on without it.
    private func refuse(_ what: String, _ error: any Error) async {
        logger.warning("\(what)", metadata: ["participant": "\(media.sid)", "error": "\(error)"])
        var leave = Livekit_SignalResponse()
        leave.leave = Livekit_LeaveRequest.with {
            $0.reason = .stateMismatch
            $0.action = .disconnect
        }
        sink.send(leave)
        await session.end(reason: .stateMismatch)
        sink.close()
    }
}
