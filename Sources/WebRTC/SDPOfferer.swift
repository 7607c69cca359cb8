import Media

/// One m-line of a server offer (the subscriber side of a LiveKit-style connection, where the
/// server sends media and opens data channels).
public struct OfferedSection: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        /// The SCTP association for data channels.
        case data
        /// A track we send, in its publisher's codec.
        case track(OutgoingTrack, codec: NegotiatedCodec)
        /// An m-line whose track went away. M-lines are never removed (JSEP), so a stopped one
        /// stays as `a=inactive` with the codec it had.
        case inactive(NegotiatedKind, codec: NegotiatedCodec)
    }

    public var mid: String
    public var content: Content

    public init(mid: String, content: Content) {
        self.mid = mid
        self.content = content
    }

    public var kind: String {
        switch content {
        case .data: "application"
        case .track(let track, _): track.kind.rawValue
        case .inactive(let kind, _): kind.rawValue
        }
    }
}

/// What the remote answer said about one offered m-line.
public struct AnsweredSection: Sendable, Equatable {
    public var mid: String
    /// False when the answerer rejected the m-line (port 0).
    public var accepted: Bool
}

/// Builds offers in which we are the sender (JSEP offerer): BUNDLE over all m-lines, rtcp-mux,
/// `a=setup:actpass` (the answer picks our DTLS role), our gathered candidates inline.
///
/// Each track m-line offers exactly the publisher's codec with its payload type (video adds an
/// RTX payload type and an RTX SSRC in an FID group, for retransmissions), so forwarded
/// packets need no payload type rewrite, and one header extension: the transport-wide sequence
/// number (with `transport-cc` feedback), which the SFU writes over the publisher's extension
/// block of every forwarded packet (the publisher's ids would mean something else to the
/// subscriber) so the viewer's TWCC feedback drives its downlink estimate.
public enum SDPOfferer {
    /// The id of the transport-wide sequence number extension in our offers (any one-byte id;
    /// the same on every m-line, as BUNDLE requires).
    public static let transportCCExtensionID: UInt8 = 3

    public static func offer(_ sections: [OfferedSection], local: LocalTransportDescription, sessionID: String,
                             sessionVersion: UInt64, maxMessageSize: Int = SDPAnswerer.maxMessageSize) -> SessionDescription {
        var offer = SessionDescription(origin: SDPOrigin(sessionID: sessionID, sessionVersion: sessionVersion, address: "127.0.0.1"))
        offer.timing = SDPTiming()
        offer.msidSemantic = " WMS"
        for item in sections {
            var section: SDPMediaSection
            switch item.content {
            case .data:
                section = SDPMediaSection(kind: "application", port: 9, proto: "UDP/DTLS/SCTP", formats: ["webrtc-datachannel"])
                section.sctpPort = 5000
                section.maxMessageSize = maxMessageSize
            case .track(let track, let codec):
                section = rtpSection(kind: track.kind, codec: codec)
                section.direction = .sendonly
                section.msids = [SDPMediaStreamID(streamID: track.streamID, trackID: track.trackID)]
                let withRTX = codec.rtxPayloadType != nil && track.rtxSSRC != nil
                section.ssrcs = ssrcAttributes(of: track, withRTX: withRTX)
                if withRTX, let rtxSSRC = track.rtxSSRC {
                    section.ssrcGroups = [SDPSSRCGroup(semantics: "FID", ssrcs: [track.ssrc, rtxSSRC])]
                }
            case .inactive(let kind, let codec):
                section = rtpSection(kind: kind, codec: codec)
                section.direction = .inactive
            }
            section.mid = item.mid
            section.connection = SDPConnection(address: "0.0.0.0")
            section.iceUfrag = local.ufrag
            section.icePwd = local.password
            section.iceOptions = ["trickle"]
            section.fingerprints = [SDPFingerprint(hashFunction: "sha-256", value: local.fingerprint)]
            section.setup = .actpass
            section.candidates = local.candidates.compactMap { try? ICECandidate(parsing: $0) }
            offer.mediaSections.append(section)
        }
        offer.groups = [SDPGroup(semantics: "BUNDLE", identifiers: sections.map(\.mid))]
        return offer
    }

    /// `a=ssrc` lines for a track we send: cname and msid of its media SSRC, and of its RTX SSRC
    /// when `withRTX` (libwebrtc ties the RTX stream to its media stream by the FID group and
    /// wants both described).
    public static func ssrcAttributes(of track: OutgoingTrack, withRTX: Bool) -> [SDPSSRCAttribute] {
        var ssrcs = [track.ssrc]
        if withRTX, let rtxSSRC = track.rtxSSRC { ssrcs.append(rtxSSRC) }
        return ssrcs.flatMap { ssrc in [
            SDPSSRCAttribute(ssrc: ssrc, attribute: "cname", value: track.cname),
            SDPSSRCAttribute(ssrc: ssrc, attribute: "msid", value: "\(track.streamID) \(track.trackID)"),
        ] }
    }

    /// The RTX payload type the answer kept for the m-line `mid` whose codec is `payloadType`
    /// (nil: the answerer declined RTX there, so retransmissions stay on the media stream).
    public static func rtxPayloadType(in answer: SessionDescription, mid: String, primary payloadType: UInt8) -> UInt8? {
        answer.mediaSections.first { $0.mid == mid && !$0.isRejected }?.rtxPayloadType(forPrimary: payloadType)
    }

    /// The transport-wide sequence number extension id the answer accepted (on any m-line; BUNDLE
    /// makes it one transport); nil when the answerer left it out.
    public static func transportCCExtensionID(of answer: SessionDescription) -> UInt8? {
        for section in answer.mediaSections where !section.isRejected && section.kind != "application" {
            if let id = section.extmapID(for: RTPHeaderExtensionURI.transportWideCC) { return id }
        }
        return nil
    }

    /// Checks an answer against the offer it answers: same m-lines in the same order, ICE and
    /// DTLS parameters present. Returns the remote transport and each m-line's fate.
    public static func read(answer: SessionDescription, to offer: SessionDescription)
        throws(NegotiationError) -> (RemoteTransportDescription, [AnsweredSection]) {
        guard answer.mediaSections.count == offer.mediaSections.count else {
            throw .malformedSDP("the answer has \(answer.mediaSections.count) m-lines, the offer \(offer.mediaSections.count)")
        }
        var sections: [AnsweredSection] = []
        for (offered, answered) in zip(offer.mediaSections, answer.mediaSections) {
            guard offered.kind == answered.kind else {
                throw .malformedSDP("answer m-line \(answered.mid ?? "?") is \(answered.kind), the offer's is \(offered.kind)")
            }
            sections.append(AnsweredSection(mid: offered.mid ?? "", accepted: !answered.isRejected))
        }
        var remote = try SDPAnswerer.remoteTransport(of: answer)
        // Our offer said actpass; the answerer chose: its `active` makes us the DTLS server.
        let first = answer.mediaSections.first { !$0.isRejected }
        let answererSetup = first?.setup ?? answer.setup ?? .active
        remote.localSetup = answererSetup == .passive ? .active : .passive
        return (remote, sections)
    }

    private static func rtpSection(kind: NegotiatedKind, codec: NegotiatedCodec) -> SDPMediaSection {
        var section = SDPMediaSection(kind: kind.rawValue, port: 9, proto: "UDP/TLS/RTP/SAVPF", formats: [String(codec.payloadType)])
        section.rtcp = "9 IN IP4 0.0.0.0"
        section.rtcpMux = true
        section.rtcpReducedSize = kind == .video
        section.rtpMaps = [SDPRTPMap(payloadType: codec.payloadType, encodingName: codec.name, clockRate: codec.clockRate,
                                     channels: codec.channels)]
        if !codec.parameters.isEmpty {
            section.fmtps = [SDPFmtp(payloadType: codec.payloadType, parameters: codec.parameters)]
        }
        section.rtcpFeedback = codec.feedback
        if kind == .video, let rtx = codec.rtxPayloadType {
            section.formats.append(String(rtx))
            section.rtpMaps.append(SDPRTPMap(payloadType: rtx, encodingName: "rtx", clockRate: codec.clockRate))
            section.fmtps.append(SDPFmtp(payloadType: rtx, parameters: "apt=\(codec.payloadType)"))
        }
        section.extmaps = [SDPExtmap(id: transportCCExtensionID, uri: RTPHeaderExtensionURI.transportWideCC)]
        if !section.rtcpFeedback.contains(where: { $0.type == "transport-cc" }) {
            section.rtcpFeedback.append(SDPRTCPFeedback(payloadType: codec.payloadType, type: "transport-cc", parameter: nil))
        }
        return section
    }
}
