import Foundation
import Media
import Testing
@testable import WebRTC

/// RTX (RFC 4588) in our offers and answers: an rtx payload type bound to its codec by `apt=`,
/// and an RTX SSRC paired with the media SSRC by an FID group.
@Suite struct RTXNegotiationTests {
    static let local = PeerConnectionOfferTests.local
    static let vp8 = NegotiatedCodec(payloadType: 96, name: "VP8", clockRate: 90000,
                                     feedback: [SDPRTCPFeedback(payloadType: 96, type: "nack", parameter: nil)],
                                     rtxPayloadType: 97)

    static func track(rtxSSRC: UInt32?) -> OutgoingTrack {
        OutgoingTrack(kind: .video, codecName: "VP8", ssrc: 1111, rtxSSRC: rtxSSRC, streamID: "PA_x|TR_a", trackID: "TR_a",
                      cname: "PA_x", tag: "TR_a")
    }

    @Test func offerCarriesRTXPayloadTypeAndFIDGroup() throws {
        let offer = SDPOfferer.offer([OfferedSection(mid: "1", content: .track(Self.track(rtxSSRC: 2222), codec: Self.vp8))],
                                     local: Self.local, sessionID: "1", sessionVersion: 1)
        let video = try SessionDescription(parsing: offer.description).mediaSections[0]
        #expect(video.formats == ["96", "97"])
        #expect(video.rtxPayloadType(forPrimary: 96) == 97)
        #expect(video.ssrcGroups == [SDPSSRCGroup(semantics: "FID", ssrcs: [1111, 2222])])
        #expect(video.ssrcAttribute("cname", for: 2222) == "PA_x" && video.ssrcAttribute("msid", for: 2222) == "PA_x|TR_a TR_a")
        #expect(SDPAnswerer.mediaSSRCs(of: video) == [1111], "the RTX SSRC is a repair stream, not media")
    }

    @Test func answerToAnRTXOfferKeepsItOnReceivingLines() throws {
        let offer = SDPOfferer.offer([OfferedSection(mid: "1", content: .track(Self.track(rtxSSRC: 2222), codec: Self.vp8))],
                                     local: Self.local, sessionID: "1", sessionVersion: 1)
        let remote = LocalTransportDescription(ufrag: "ufrB", password: "passwordpasswordpasswordB", fingerprint: "EF:01", candidates: [])
        let (answer, media) = try SDPAnswerer.answer(to: try SessionDescription(parsing: offer.description), mode: .receive, local: remote)
        #expect(media[0].codec.rtxPayloadType == 97)
        #expect(media[0].remoteSSRCs == [1111] && media[0].remoteRTXSSRCs == [2222: 1111])
        let parsed = try SessionDescription(parsing: answer.description)
        #expect(SDPOfferer.rtxPayloadType(in: parsed, mid: "1", primary: 96) == 97)
    }

    @Test func sendingLinesUseRTXOnlyWithAnRTXSSRC() throws {
        // A browser-style recvonly offer with VP8 and its rtx.
        let sdp = try SessionDescription(parsing: SDPOfferer.offer(
            [OfferedSection(mid: "0", content: .track(Self.track(rtxSSRC: 5), codec: Self.vp8))],
            local: Self.local, sessionID: "1", sessionVersion: 1).description)
        var offer = sdp
        offer.mediaSections[0].direction = .recvonly
        offer.mediaSections[0].ssrcs = []
        offer.mediaSections[0].ssrcGroups = []
        offer.mediaSections[0].msids = []
        let remote = LocalTransportDescription(ufrag: "ufrB", password: "passwordpasswordpasswordB", fingerprint: "EF:01", candidates: [])
        let (withRTX, media) = try SDPAnswerer.answer(to: offer, mode: .send(tracks: [Self.track(rtxSSRC: 3333)]), local: remote)
        #expect(media[0].codec.rtxPayloadType == 97)
        let answered = try SessionDescription(parsing: withRTX.description).mediaSections[0]
        #expect(answered.formats == ["96", "97"] && answered.rtxPayloadType(forPrimary: 96) == 97)
        #expect(answered.ssrcGroups == [SDPSSRCGroup(semantics: "FID", ssrcs: [1111, 3333])])
        let (without, plain) = try SDPAnswerer.answer(to: offer, mode: .send(tracks: [Self.track(rtxSSRC: nil)]), local: remote)
        #expect(plain[0].codec.rtxPayloadType == nil)
        #expect(without.mediaSections[0].formats == ["96"] && without.mediaSections[0].ssrcGroups.isEmpty)
    }
}
