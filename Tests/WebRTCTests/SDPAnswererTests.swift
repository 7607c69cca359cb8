import Foundation
import Media
import Testing
@testable import WebRTC

/// An offer as aiortc 1.16 writes it (VP8 + two H.264 profiles, each with RTX; Opus + G.722/PCM).
let aiortcOffer = """
v=0
o=- 4004606235 4004606235 IN IP4 0.0.0.0
s=-
t=0 0
a=group:BUNDLE 0 1
a=msid-semantic:WMS *
m=video 36536 UDP/TLS/RTP/SAVPF 97 98 99 100 101 102
c=IN IP4 192.0.2.2
a=sendonly
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=mid:0
a=msid:ef65c7e0 e6740aa2
a=rtcp:9 IN IP4 0.0.0.0
a=rtcp-mux
a=ssrc-group:FID 3608716635 2818505560
a=ssrc:3608716635 cname:cc85f716
a=ssrc:2818505560 cname:cc85f716
a=rtpmap:97 VP8/90000
a=rtcp-fb:97 nack
a=rtcp-fb:97 nack pli
a=rtcp-fb:97 goog-remb
a=rtpmap:98 rtx/90000
a=fmtp:98 apt=97
a=rtpmap:99 H264/90000
a=rtcp-fb:99 nack
a=rtcp-fb:99 nack pli
a=rtcp-fb:99 goog-remb
a=fmtp:99 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
a=rtpmap:100 rtx/90000
a=fmtp:100 apt=99
a=rtpmap:101 H264/90000
a=rtcp-fb:101 nack
a=rtcp-fb:101 nack pli
a=fmtp:101 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:102 rtx/90000
a=fmtp:102 apt=101
a=candidate:f957a2332b 1 udp 2130706431 192.0.2.2 36536 typ host
a=end-of-candidates
a=ice-ufrag:B4rd
a=ice-pwd:XQx2jfuoXcXAWLZE8llFT6
a=fingerprint:sha-256 88:48:08:B8:FA:4F:E6:34:26:DA:3B:4A:DB:8F:66:3F:58:B1:08:9D:EC:A8:89:55:04:CC:87:CE:68:FE:B5:6B
a=fingerprint:sha-384 F3:E0:FE:77
a=setup:actpass
m=audio 35771 UDP/TLS/RTP/SAVPF 96 9 0 8
c=IN IP4 192.0.2.2
a=sendonly
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=mid:1
a=msid:ef65c7e0 2ca07365
a=rtcp:9 IN IP4 0.0.0.0
a=rtcp-mux
a=ssrc:3545940734 cname:cc85f716
a=rtpmap:96 opus/48000/2
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=candidate:f957a2332b 1 udp 2130706431 192.0.2.2 35771 typ host
a=end-of-candidates
a=ice-ufrag:B4rd
a=ice-pwd:XQx2jfuoXcXAWLZE8llFT6
a=fingerprint:sha-256 88:48:08:B8:FA:4F:E6:34:26:DA:3B:4A:DB:8F:66:3F:58:B1:08:9D:EC:A8:89:55:04:CC:87:CE:68:FE:B5:6B
a=setup:actpass
m=application 9 UDP/DTLS/SCTP webrtc-datachannel
a=mid:2
a=sctp-port:5000

"""

let local = LocalTransportDescription(
    ufrag: "srvU", password: "serverpasswordserverpass", fingerprint: "AA:BB:CC",
    candidates: ["candidate:1 1 UDP 2015363327 127.0.0.1 50000 typ host"])

@Suite struct SDPAnswererTests {
    func offer(_ text: String = aiortcOffer) throws -> SessionDescription {
        try SessionDescription(parsing: text)
    }

    @Test func whipAnswerReceivesVP8AndOpus() throws {
        let (answer, media) = try SDPAnswerer.answer(to: try offer(), mode: .receive, local: local, sessionID: "42")
        #expect(media.count == 2)
        #expect(media[0].mid == "0" && media[0].kind == .video && media[0].codec.name == "VP8" && media[0].codec.payloadType == 97)
        #expect(media[0].remoteSSRCs == [3608716635], "the RTX SSRC of the FID group is not media")
        #expect(media[0].midExtensionID == 1)
        #expect(media[1].codec.name == "opus" && media[1].codec.payloadType == 96 && media[1].remoteSSRCs == [3545940734])
        #expect(answer.bundleMids == ["0", "1"])
        let v = answer.mediaSections[0]
        #expect(v.formats.first == "97" && v.formats.count == 2 && v.direction == .recvonly && v.setup == .passive && v.rtcpMux)
        #expect(v.rtpMaps.map(\.encodingName) == ["VP8", "rtx"], "the offered RTX is accepted (unwrapped on arrival)")
        #expect(media[0].codec.rtxPayloadType.map { v.rtxPayloadType(forPrimary: 97) == $0 } == true)
        #expect(v.rtcpFeedback.map(\.sdpValue) == ["97 nack", "97 nack pli", "97 goog-remb"])
        #expect(v.extmaps == [SDPExtmap(id: 1, uri: RTPHeaderExtensionURI.mid)])
        #expect(v.iceUfrag == "srvU" && v.fingerprints == [SDPFingerprint(hashFunction: "sha-256", value: "AA:BB:CC")])
        #expect(v.candidates.count == 1 && v.candidates[0].port == 50000 && v.endOfCandidates)
        let data = answer.mediaSections[2]
        #expect(data.port == 0, "data channels are rejected")
        // The answer re-parses to the same thing.
        #expect(try SessionDescription(parsing: answer.sdp) == answer)
        #expect(answer.sdp.contains("a=group:BUNDLE 0 1\r\n"))
    }

    @Test func remoteTransportComesFromTheBundleTag() throws {
        let remote = try SDPAnswerer.remoteTransport(of: try offer())
        #expect(remote.ufrag == "B4rd" && remote.localSetup == .passive)
        #expect(remote.fingerprint.hasPrefix("88:48"))
        #expect(remote.candidates == ["candidate:f957a2332b 1 udp 2130706431 192.0.2.2 36536 typ host"])
    }

    @Test func h264PrefersPacketizationModeOneConstrainedBaseline() throws {
        var text = aiortcOffer.replacingOccurrences(of: "m=video 36536 UDP/TLS/RTP/SAVPF 97 98 99 100 101 102",
                                                    with: "m=video 36536 UDP/TLS/RTP/SAVPF 101 102 99 100")
        text = text.replacingOccurrences(of: "profile-level-id=42e01f", with: "profile-level-id=640c1f")
        let (_, media) = try SDPAnswerer.answer(to: try offer(text), mode: .receive, local: local)
        #expect(media[0].codec.name == "H264" && media[0].codec.payloadType == 99)
        #expect(media[0].codec.parameters.contains("packetization-mode=1"))
    }

    @Test func whepAnswerSendsThePublishersCodecWithOurSSRC() throws {
        // A viewer's offer: recvonly, same codec lists.
        let text = aiortcOffer.replacingOccurrences(of: "a=sendonly", with: "a=recvonly")
        let tracks = [
            OutgoingTrack(kind: .audio, codecName: "opus", ssrc: 1111, streamID: "cam", trackID: "TR_a", cname: "sluice", tag: "TR_a"),
            OutgoingTrack(kind: .video, codecName: "H264", codecParameters: "packetization-mode=1;profile-level-id=42e01f",
                          ssrc: 2222, streamID: "cam", trackID: "TR_v", cname: "sluice", tag: "TR_v"),
        ]
        let (answer, media) = try SDPAnswerer.answer(to: try offer(text), mode: .send(tracks: tracks), local: local)
        #expect(media.count == 2)
        #expect(media[0].sending?.tag == "TR_v" && media[0].codec.payloadType == 101, "the viewer's PT for 42e01f")
        #expect(media[1].sending?.tag == "TR_a" && media[1].codec.payloadType == 96)
        let v = answer.mediaSections[0]
        #expect(v.direction == .sendonly && v.extmaps.isEmpty)
        #expect(v.msids == [SDPMediaStreamID(streamID: "cam", trackID: "TR_v")])
        #expect(v.ssrcs.contains(SDPSSRCAttribute(ssrc: 2222, attribute: "cname", value: "sluice")))
        #expect(answer.msidSemantic == " WMS")
    }

    @Test func whepLineWithNothingToSendIsInactiveNotRejected() throws {
        // A viewer asks for video and audio of a video-only publisher. aiortc refuses answers
        // whose m-lines lack ICE credentials or a codec, which a rejected (port 0) line has.
        let text = aiortcOffer.replacingOccurrences(of: "a=sendonly", with: "a=recvonly")
        let tracks = [OutgoingTrack(kind: .video, codecName: "VP8", ssrc: 2222, streamID: "cam", trackID: "TR_v",
                                    cname: "sluice", tag: "TR_v")]
        let (answer, media) = try SDPAnswerer.answer(to: try offer(text), mode: .send(tracks: tracks), local: local)
        let audio = answer.mediaSections[1]
        #expect(audio.port != 0 && audio.direction == .inactive)
        #expect(audio.rtpMaps.first?.encodingName.lowercased() == "opus" && audio.iceUfrag == local.ufrag && audio.rtcpMux)
        #expect(media.count == 2 && media[1].sending == nil && media[1].direction == .inactive)
        #expect(answer.groups.first?.identifiers == ["0", "1"])
    }

    /// LiveKit's single peer connection: the client sends video on m-line 0 and offers a
    /// recvonly audio slot (m-line 1) and data.
    static var singlePeerConnectionOffer: String {
        let audioStart = aiortcOffer.range(of: "m=audio")!.lowerBound
        return String(aiortcOffer[..<audioStart])
            + aiortcOffer[audioStart...].replacingOccurrences(of: "a=sendonly", with: "a=recvonly")
    }

    @Test func singlePeerConnectionReceivesAndSendsOnTheSameAnswer() throws {
        let track = OutgoingTrack(kind: .audio, codecName: "opus", ssrc: 1111, streamID: "PA_x|TR_a", trackID: "TR_a",
                                  cname: "PA_x", tag: "TR_a")
        let (answer, media) = try SDPAnswerer.answer(to: try offer(Self.singlePeerConnectionOffer),
                                                     mode: .publishAndSubscribe(sending: ["1": track]), local: local,
                                                     acceptData: true)
        #expect(media.count == 2)
        #expect(media[0].direction == .recvonly && media[0].midExtensionID == 1 && media[0].sending == nil)
        #expect(media[1].direction == .sendonly && media[1].sending?.tag == "TR_a" && media[1].codec.payloadType == 96)
        let video = answer.mediaSections[0], audio = answer.mediaSections[1]
        #expect(video.direction == .recvonly && video.extmaps == [SDPExtmap(id: 1, uri: RTPHeaderExtensionURI.mid)])
        // The offered extensions come back (Chrome offers later m-lines only what it got back);
        // we send none on them.
        #expect(audio.direction == .sendonly && audio.extmaps.map(\.id) == [1, 2])
        #expect(audio.msids == [SDPMediaStreamID(streamID: "PA_x|TR_a", trackID: "TR_a")])
        #expect(audio.ssrcs.contains(SDPSSRCAttribute(ssrc: 1111, attribute: "msid", value: "PA_x|TR_a TR_a")))
        #expect(answer.mediaSections[2].port != 0 && answer.mediaSections[2].sctpPort == 5000)
        #expect(answer.groups.first?.identifiers == ["0", "1", "2"])
        #expect(try SessionDescription(parsing: answer.sdp) == answer)
    }

    @Test func singlePeerConnectionKeepsUnassignedSlotsInactive() throws {
        let (answer, media) = try SDPAnswerer.answer(to: try offer(Self.singlePeerConnectionOffer),
                                                     mode: .publishAndSubscribe(sending: [:]), local: local, acceptData: true)
        let audio = answer.mediaSections[1]
        #expect(audio.port != 0 && audio.direction == .inactive && audio.msids.isEmpty && audio.iceUfrag == local.ufrag)
        #expect(media[1].direction == .inactive && media[1].sending == nil)
        #expect(media[0].direction == .recvonly)
    }

    @Test func whepWithoutAMatchingCodecIsRejected() throws {
        let text = aiortcOffer.replacingOccurrences(of: "a=sendonly", with: "a=recvonly")
        let tracks = [OutgoingTrack(kind: .video, codecName: "AV1", ssrc: 1, streamID: "s", trackID: "t", cname: "c", tag: "t")]
        #expect(throws: NegotiationError.self) {
            _ = try SDPAnswerer.answer(to: try offer(text), mode: .send(tracks: tracks), local: local)
        }
    }

    @Test func offersWithoutTransportAreErrors() throws {
        let bare = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 opus/48000/2\r\n"
        #expect(throws: NegotiationError.missingICECredentials) {
            _ = try SDPAnswerer.answer(to: try offer(bare), mode: .receive, local: local)
        }
        let noFingerprint = bare + "a=ice-ufrag:u\r\na=ice-pwd:pppppppppppppppppppppp\r\n"
        #expect(throws: NegotiationError.missingFingerprint) {
            _ = try SDPAnswerer.answer(to: try offer(noFingerprint), mode: .receive, local: local)
        }
        let pcmuOnly = noFingerprint.replacingOccurrences(of: "opus/48000/2", with: "PCMU/8000") + "a=fingerprint:sha-256 AA\r\n"
        #expect(throws: NegotiationError.self) {
            _ = try SDPAnswerer.answer(to: try offer(pcmuOnly), mode: .receive, local: local)
        }
    }
}
