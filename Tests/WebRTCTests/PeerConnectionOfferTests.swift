import Foundation
import Media
import Testing
@testable import WebRTC

/// The offerer side (LiveKit's subscriber connection) and renegotiation, checked SDP-first and
/// then end to end between two of our peer connections on loopback.
@Suite struct PeerConnectionOfferTests {
    static let local = LocalTransportDescription(ufrag: "ufrA", password: "passwordpasswordpassword",
                                                 fingerprint: "AB:CD", candidates: ["candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"])
    static let vp8 = NegotiatedCodec(payloadType: 96, name: "VP8", clockRate: 90000,
                                     feedback: [SDPRTCPFeedback(payloadType: 96, type: "nack", parameter: "pli")])

    static func track(_ id: String, ssrc: UInt32) -> OutgoingTrack {
        OutgoingTrack(kind: .video, codecName: "VP8", ssrc: ssrc, streamID: "PA_x|\(id)", trackID: id, cname: "PA_x", tag: id)
    }

    @Test func offerBundlesDataTracksAndStoppedLines() throws {
        let offer = SDPOfferer.offer([
            OfferedSection(mid: "0", content: .data),
            OfferedSection(mid: "1", content: .track(Self.track("TR_a", ssrc: 1111), codec: Self.vp8)),
            OfferedSection(mid: "2", content: .inactive(.video, codec: Self.vp8)),
        ], local: Self.local, sessionID: "7", sessionVersion: 3)
        // What we print must parse back to the same meaning.
        let parsed = try SessionDescription(parsing: offer.description)
        #expect(parsed.groups.first?.identifiers == ["0", "1", "2"])
        let (data, video, stopped) = (parsed.mediaSections[0], parsed.mediaSections[1], parsed.mediaSections[2])
        #expect(data.kind == "application" && data.sctpPort == 5000 && data.maxMessageSize == SDPAnswerer.maxMessageSize)
        #expect(video.direction == .sendonly && video.setup == .actpass)
        #expect(video.msids.first?.streamID == "PA_x|TR_a" && video.msids.first?.trackID == "TR_a")
        #expect(video.ssrcList == [1111] && video.codecs.map(\.name) == ["VP8"])
        // One extension: the transport-wide sequence number the SFU writes over the publisher's
        // block, with the feedback that reports on it.
        #expect(video.extmaps == [SDPExtmap(id: SDPOfferer.transportCCExtensionID, uri: RTPHeaderExtensionURI.transportWideCC)])
        #expect(video.rtcpFeedback.contains { $0.type == "transport-cc" && $0.payloadType == Self.vp8.payloadType })
        #expect(stopped.extmaps == video.extmaps, "one id across the bundle")
        #expect(stopped.direction == .inactive && stopped.msids.isEmpty && stopped.ssrcs.isEmpty)
        #expect(parsed.mediaSections.allSatisfy { $0.iceUfrag == "ufrA" && $0.candidates.count == 1 })
    }

    @Test func answersMustMatchTheOffer() throws {
        let offer = SDPOfferer.offer([OfferedSection(mid: "0", content: .data),
                                      OfferedSection(mid: "1", content: .track(Self.track("TR_a", ssrc: 5), codec: Self.vp8))],
                                     local: Self.local, sessionID: "1", sessionVersion: 1)
        // An answerer (ours) accepts both; it answers `passive`, so the offerer is the DTLS client.
        let remote = LocalTransportDescription(ufrag: "ufrB", password: "passwordpasswordpasswordB", fingerprint: "EF:01", candidates: [])
        var wire = try SessionDescription(parsing: offer.description)
        for index in wire.mediaSections.indices { wire.mediaSections[index].setup = .actpass }
        let (answer, media) = try SDPAnswerer.answer(to: wire, mode: .receive, local: remote, acceptData: true)
        #expect(media.count == 1 && media[0].index == 1 && media[0].direction == .recvonly)
        #expect(answer.mediaSections[0].sctpPort == 5000 && !answer.mediaSections[0].isRejected)
        let (transport, sections) = try SDPOfferer.read(answer: answer, to: offer)
        #expect(transport.ufrag == "ufrB" && transport.localSetup == .active)
        #expect(sections.map(\.accepted) == [true, true])
        // Our answerer accepts transport-cc (with its feedback) on a receiving m-line.
        #expect(SDPOfferer.transportCCExtensionID(of: answer) == SDPOfferer.transportCCExtensionID)
        var declined = answer
        for index in declined.mediaSections.indices { declined.mediaSections[index].extmaps = [] }
        #expect(SDPOfferer.transportCCExtensionID(of: declined) == nil)
        // libwebrtc answers `active`: then we are the DTLS server.
        var active = answer
        for index in active.mediaSections.indices { active.mediaSections[index].setup = .active }
        #expect(try SDPOfferer.read(answer: active, to: offer).0.localSetup == .passive)

        var short = answer
        short.mediaSections.removeLast()
        #expect(throws: NegotiationError.self) { _ = try SDPOfferer.read(answer: short, to: offer) }
        var swapped = answer
        swapped.mediaSections[1].kind = "audio"
        #expect(throws: NegotiationError.self) { _ = try SDPOfferer.read(answer: swapped, to: offer) }
    }

    @Test func dataOnlyOfferIsAcceptedOnlyWithData() throws {
        let offer = SDPOfferer.offer([OfferedSection(mid: "0", content: .data)], local: Self.local, sessionID: "1", sessionVersion: 1)
        #expect(throws: NegotiationError.self) { _ = try SDPAnswerer.answer(to: offer, mode: .receive, local: Self.local) }
        let (answer, media) = try SDPAnswerer.answer(to: offer, mode: .receive, local: Self.local, acceptData: true)
        #expect(media.isEmpty && answer.groups.first?.identifiers == ["0"])
    }

    /// Our offerer and our answerer connect, exchange data channel messages both ways, carry RTP
    /// to the right m-line, and renegotiate a second track on the same transport.
    @Test func offererAndAnswererConnectCarryDataAndRenegotiate() async throws {
        let worker = MediaWorker(name: "offer-test")
        defer { worker.stop() }
        let pair = try await worker.run { try LoopbackPair(worker: worker) }
        try await waitUntil("gathering") { try await worker.run { pair.offerer.isGatheringDone && pair.answerer.isGatheringDone } }
        try await worker.run { try pair.negotiate(tracks: ["TR_1"]) }
        try await waitUntil("both connected", seconds: 10) { try await worker.run { pair.bothConnected } }
        try await waitUntil("data channel open", seconds: 10) { try await worker.run { pair.channelOpen } }
        try await worker.run { try pair.sendData("hello answerer") }
        try await waitUntil("message at the answerer") { try await worker.run { pair.answererGot == ["hello answerer"] } }
        try await worker.run { try pair.answererReply("hello offerer") }
        try await waitUntil("message at the offerer") { try await worker.run { pair.offererGot == ["hello offerer"] } }

        try await worker.run { pair.sendRTP(ssrc: LoopbackPair.ssrc(0), sequence: 1) }
        try await waitUntil("RTP on m-line 1") { try await worker.run { pair.rtpLines == [1] } }
        // Renegotiation: a second track on a new m-line, same transport.
        try await worker.run { try pair.negotiate(tracks: ["TR_1", "TR_2"]) }
        try await worker.run { pair.sendRTP(ssrc: LoopbackPair.ssrc(1), sequence: 1) }
        try await waitUntil("RTP on m-line 2") { try await worker.run { pair.rtpLines == [1, 2] } }
        // ICE restart (a LiveKit client resuming): both sides get new credentials, media goes on.
        let before = try await worker.run { pair.offerer.transport.localCredentials.ufrag + pair.answerer.transport.localCredentials.ufrag }
        try await worker.run { try pair.negotiate(tracks: ["TR_1", "TR_2"], iceRestart: true) }
        let after = try await worker.run { pair.offerer.transport.localCredentials.ufrag + pair.answerer.transport.localCredentials.ufrag }
        #expect(before != after)
        try await Task.sleep(for: .milliseconds(300))
        try await worker.run { pair.sendRTP(ssrc: LoopbackPair.ssrc(0), sequence: 2) }
        try await waitUntil("RTP after the ICE restart", seconds: 10) { try await worker.run { pair.rtpLines == [1, 2, 1] } }
        #expect(try await worker.run { pair.bothConnected })
        try await worker.run { pair.close() }
    }
}

/// An offerer and an answerer `PeerConnection` on one worker, signalling passed by hand.
final class LoopbackPair: PeerConnectionDelegate, @unchecked Sendable {
    let offerer: PeerConnection
    let answerer: PeerConnection
    var offererGot: [String] = []
    var answererGot: [String] = []
    var rtpLines: [Int] = []
    private var outgoing: DataChannel?
    private var incoming: DataChannel?

    static func ssrc(_ index: Int) -> UInt32 { 0x1000 + UInt32(index) }

    init(worker: MediaWorker) throws {
        let certificate = try DTLSCertificate(commonName: "offer-test")
        offerer = try PeerConnection(worker: worker, certificate: certificate, offeringOn: ["127.0.0.1"], portRange: nil)
        answerer = try PeerConnection(worker: worker, certificate: certificate, answeringOn: ["127.0.0.1"], portRange: nil)
        offerer.delegate = self
        answerer.delegate = self
    }

    var bothConnected: Bool { offerer.state == .connected && answerer.state == .connected }
    var channelOpen: Bool { outgoing?.state == .open && incoming?.state == .open }

    func negotiate(tracks: [String], iceRestart: Bool = false) throws {
        var sections = [OfferedSection(mid: "0", content: .data)]
        for (index, id) in tracks.enumerated() {
            let track = OutgoingTrack(kind: .video, codecName: "VP8", ssrc: Self.ssrc(index), streamID: "s", trackID: id,
                                      cname: "c", tag: id)
            sections.append(OfferedSection(mid: String(index + 1), content: .track(track, codec: PeerConnectionOfferTests.vp8)))
        }
        let offer = try offerer.offer(sections, iceRestart: iceRestart)
        let answer = try answerer.answer(offer: try SessionDescription(parsing: offer.description), mode: .receive, acceptData: true)
        try offerer.setAnswer(try SessionDescription(parsing: answer.description))
    }

    func sendData(_ text: String) throws { try outgoing?.send(text) }
    func answererReply(_ text: String) throws { try incoming?.send(text) }

    func sendRTP(ssrc: UInt32, sequence: UInt16) {
        let packet = makeRTP(sequence: sequence, ssrc: ssrc, payload: [0x10, 0, 0, 0])
        packet.withUnsafeBytes { _ = offerer.sendRTP($0) }
    }

    func close() {
        offerer.close()
        answerer.close()
    }

    func peerConnection(_ connection: PeerConnection, didChangeState state: PeerTransport.State) {}
    func peerConnection(_ connection: PeerConnection, didReceiveRTP packet: UnsafeMutableRawBufferPointer, media: Int,
                        layer: Int) {
        if connection === answerer { rtpLines.append(media) }
    }
    func peerConnection(_ connection: PeerConnection, didReceiveRTCP packet: UnsafeMutableRawBufferPointer) {}
    func peerConnection(_ connection: PeerConnection, didCreateDataChannels manager: DataChannelManager) {
        if connection === offerer {
            outgoing = try? manager.createDataChannel(label: "_reliable")
            outgoing?.onMessage = { [unowned self] message in
                if case .text(let text) = message { self.offererGot.append(text) }
            }
        } else {
            manager.onDataChannel = { [unowned self] channel in
                self.incoming = channel
                channel.onMessage = { message in
                    if case .text(let text) = message { self.answererGot.append(text) }
                }
            }
        }
    }
}
