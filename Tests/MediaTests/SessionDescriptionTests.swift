import Testing
@testable import Media

@Suite struct SessionDescriptionTests {
    @Test func chromeOfferModel() throws {
        let sdp = try SessionDescription(parsing: chromeOffer)
        #expect(sdp.origin.sessionID == "5498186869896684180")
        #expect(sdp.origin.sessionVersion == 2)
        #expect(sdp.bundleMids == ["0", "1", "2"])
        #expect(sdp.extmapAllowMixed)
        #expect(sdp.msidSemantic == " WMS 3e3f5a0e-6a2b-4b35-9b2c-9f1b3a4b5c6d")
        #expect(sdp.mediaSections.map(\.kind) == ["audio", "video", "application"])

        let audio = sdp.mediaSections[0]
        #expect(audio.mid == "0")
        #expect(audio.direction == .sendrecv)
        #expect(audio.rtcpMux && audio.rtcpReducedSize)
        #expect(audio.candidates.count == 4)
        #expect(audio.candidates[1].type == .srflx)
        #expect(audio.candidates[1].relatedAddress == "192.168.1.23")
        #expect(audio.candidates[2].tcpType == "active")
        #expect(audio.candidates[3].address.hasSuffix(".local"))
        #expect(audio.payloadType(forCodec: "opus") == 111)
        #expect(audio.payloadTypes(forCodec: "telephone-event") == [110, 126])
        #expect(audio.codec(for: 111)?.parameterDictionary == ["minptime": "10", "useinbandfec": "1"])
        #expect(audio.codec(for: 111)?.channels == 2)
        #expect(audio.extmapID(for: RTPHeaderExtensionURI.audioLevel) == 1)
        #expect(audio.ssrcAttribute("cname", for: 2_951_394_427) == "b0N5dhWcV7x4Hh3a")
        #expect(sdp.iceCredentials(for: audio)?.ufrag == "Fo2C")
        #expect(sdp.fingerprints(for: audio).first?.hashFunction == "sha-256")
        #expect(audio.setup == .actpass)

        let video = sdp.mediaSections[1]
        #expect(video.direction == .sendonly)
        #expect(video.payloadType(forCodec: "vp8") == 96)
        #expect(video.payloadType(forCodec: "H264") == 102)
        #expect(video.rtxAssociations == [97: 96, 103: 102, 46: 45, 99: 98])
        #expect(video.rtxPayloadType(forPrimary: 102) == 103)
        #expect(video.ridIDs() == ["q", "h", "f"])
        #expect(video.ridIDs(direction: .recv) == [])
        #expect(video.simulcast?.sendRids == ["q", "h", "f"])
        #expect(video.extmapID(for: RTPHeaderExtensionURI.rid) == 10)
        #expect(video.extmapID(for: RTPHeaderExtensionURI.repairedRid) == 11)
        #expect(video.codec(for: 96)?.feedback.map(\.type) == ["goog-remb", "transport-cc", "ccm", "nack", "nack"])
        #expect(video.codecs.count == 8)

        let data = sdp.mediaSections[2]
        #expect(data.formats == ["webrtc-datachannel"])
        #expect(data.sctpPort == 5000)
        #expect(data.maxMessageSize == 262_144)
        #expect(data.codecs.isEmpty)
    }

    @Test func chromeOfferRoundTripsByteForByte() throws {
        let sdp = try SessionDescription(parsing: chromeOffer)
        #expect(sdp.sdp == chromeOffer)
    }

    @Test func aiortcOfferModelAndRoundTrip() throws {
        let sdp = try SessionDescription(parsing: aiortcOffer)
        #expect(sdp.msidSemantic == "WMS *")
        let video = sdp.mediaSections[1]
        #expect(video.ssrcGroups(semantics: "FID") == [SDPSSRCGroup(semantics: "FID", ssrcs: [2_837_460_120, 1_094_857_328])])
        #expect(video.ssrcList == [2_837_460_120, 1_094_857_328])
        #expect(video.payloadTypes(forCodec: "H264") == [99, 101])
        #expect(video.rtxAssociations == [98: 97, 100: 99, 102: 101])
        #expect(video.endOfCandidates)
        #expect(sdp.mediaSections[0].fingerprints.map(\.hashFunction) == ["sha-256", "sha-384", "sha-512"])
        #expect(sdp.mediaSections[0].candidates[0].priority == 2_130_706_431)
        // aiortc's line order differs from ours: the model survives, and our output is a fixpoint.
        let once = sdp.sdp
        let reparsed = try SessionDescription(parsing: once)
        #expect(reparsed == sdp)
        #expect(reparsed.sdp == once)
    }

    @Test func unknownLinesAndAttributesArePreserved() throws {
        let text = crlf("""
        v=0
        o=alice 1 7 IN IP6 ::1
        s=session
        i=an info line
        u=http://example.com/
        t=0 0
        r=604800 3600 0 90000
        a=x-session-thing:hello world
        a=ice-lite
        m=audio 9 UDP/TLS/RTP/SAVPF 111
        i=media info
        b=AS:64
        b=TIAS:64000
        a=mid:a
        a=x-google-flag:conference
        a=rtpmap:111 opus/48000/2
        a=framerate:30
        a=rtcp-fb:* nack
        a=extmap:7/recvonly urn:example:ext attr1 attr2
        a=silenceSupp:off - - - -

        """)
        let sdp = try SessionDescription(parsing: text)
        #expect(sdp.attributes == [SDPAttribute(name: "x-session-thing", value: "hello world")])
        #expect(sdp.iceLite)
        #expect(sdp.otherLines.map(\.type) == ["i", "u", "r"])
        let media = sdp.mediaSections[0]
        #expect(media.attributes.map(\.name) == ["x-google-flag", "framerate", "silenceSupp"])
        #expect(media.bandwidths == [SDPBandwidth(type: "AS", value: 64), SDPBandwidth(type: "TIAS", value: 64000)])
        #expect(media.extmaps[0] == SDPExtmap(id: 7, direction: .recvonly, uri: "urn:example:ext", extensionAttributes: "attr1 attr2"))
        #expect(media.codec(for: 111)?.feedback == [SDPRTCPFeedback(payloadType: nil, type: "nack")])
        let out = sdp.sdp
        for line in ["a=x-session-thing:hello world", "a=x-google-flag:conference", "a=framerate:30", "a=silenceSupp:off - - - -",
                     "i=an info line", "u=http://example.com/", "r=604800 3600 0 90000", "i=media info", "b=TIAS:64000",
                     "a=rtcp-fb:* nack", "a=extmap:7/recvonly urn:example:ext attr1 attr2", "o=alice 1 7 IN IP6 ::1"] {
            #expect(out.contains(line + "\r\n"), "missing \(line)")
        }
        #expect(try SessionDescription(parsing: out) == sdp)
    }

    @Test func acceptsBareLineFeeds() throws {
        let lf = chromeOffer.split(separator: "\r\n", omittingEmptySubsequences: false).joined(separator: "\n")
        #expect(try SessionDescription(parsing: lf) == SessionDescription(parsing: chromeOffer))
    }

    @Test(arguments: [
        ("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 RTP/AVP 96\r\na=rtpmap:96 VP8\r\n", 6, "a=rtpmap:96 VP8"),
        ("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video nine RTP/AVP 96\r\n", 5, "m=video nine RTP/AVP 96"),
        ("v=0\r\no=- 1 2 IN IP4\r\n", 2, "o=- 1 2 IN IP4"),
        ("x=0\r\n", 1, "x=0"),
        ("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp 5 1.2.3.4 9 typ weird\r\n", 6, "a=candidate:1 1 udp 5 1.2.3.4 9 typ weird"),
        ("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=setup:sideways\r\n", 6, "a=setup:sideways"),
        ("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=mid\r\n", 6, "a=mid"),
        ("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\nbogus\r\n", 6, "bogus"),
        ("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 RTP/AVP 96\r\na=simulcast:send a;;b\r\n", 6, "a=simulcast:send a;;b"),
        ("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 RTP/AVP 96\r\na=extmap:0 urn:x\r\n", 6, "a=extmap:0 urn:x"),
    ])
    func errorsNameTheLine(text: String, lineNumber: Int, line: String) {
        do {
            _ = try SessionDescription(parsing: text)
            Issue.record("expected an error")
        } catch {
            #expect(error.lineNumber == lineNumber)
            #expect(error.line == line)
            #expect(error.description.contains(line))
        }
    }

    @Test func missingOriginIsError() {
        #expect(throws: SDPParseError.self) { try SessionDescription(parsing: "v=0\r\n") }
        #expect(throws: SDPParseError.self) { try SessionDescription(parsing: "") }
    }

    @Test func buildsAnswerFromScratch() throws {
        var media = SDPMediaSection(kind: "video", proto: "UDP/TLS/RTP/SAVPF", formats: ["96", "97"])
        media.connection = SDPConnection()
        media.mid = "1"
        media.direction = .recvonly
        media.rtcpMux = true
        media.rtpMaps = [SDPRTPMap(payloadType: 96, encodingName: "VP8", clockRate: 90000), SDPRTPMap(payloadType: 97, encodingName: "rtx", clockRate: 90000)]
        media.fmtps = [SDPFmtp(payloadType: 97, parameters: "apt=96")]
        media.rtcpFeedback = [SDPRTCPFeedback(payloadType: 96, type: "nack", parameter: "pli")]
        media.rids = [SDPRid(id: "f", direction: .recv, restrictions: "pt=96;max-width=1280"), SDPRid(id: "h", direction: .recv)]
        media.simulcast = SDPSimulcast(recv: [[.init(rid: "f")], [.init(rid: "h", paused: true)]])
        media.setup = .passive
        media.candidates = [ICECandidate(foundation: "1", priority: 2_130_706_431, address: "10.0.0.1", port: 7882, type: .host)]
        var sdp = SessionDescription(origin: SDPOrigin(sessionID: "123", sessionVersion: 1), mediaSections: [media])
        sdp.groups = [SDPGroup(semantics: "BUNDLE", identifiers: ["1"])]
        sdp.iceLite = true
        let text = sdp.sdp
        #expect(text.contains("a=simulcast:recv f;~h\r\n"))
        #expect(text.contains("a=rid:f recv pt=96;max-width=1280\r\n"))
        #expect(text.contains("a=candidate:1 1 udp 2130706431 10.0.0.1 7882 typ host\r\n"))
        let parsed = try SessionDescription(parsing: text)
        #expect(parsed == sdp)
        #expect(parsed.mediaSections[0].rids[0].payloadTypes == [96])
    }

    @Test func simulcastAlternativesAndBothDirections() throws {
        let s = try SDPSimulcast(parsing: "recv 1,~4;2;3 send a")
        #expect(s.recv == [[.init(rid: "1"), .init(rid: "4", paused: true)], [.init(rid: "2")], [.init(rid: "3")]])
        #expect(s.sendRids == ["a"])
        #expect(s.recvRids == ["1", "4", "2", "3"])
        #expect(s.sdpValue == "send a recv 1,~4;2;3")
        #expect(throws: SDPParseError.self) { try SDPSimulcast(parsing: "send a send b") }
    }
}
