import Media

/// Why an offer could not be answered (the HTTP layer turns this into a 400 with the reason).
public enum NegotiationError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformedSDP(String)
    case missingICECredentials
    case missingFingerprint
    case unsupportedFingerprintAlgorithm(String)
    case noUsableMedia(String)

    public var description: String {
        switch self {
        case .malformedSDP(let why): "malformed SDP: \(why)"
        case .missingICECredentials: "offer has no a=ice-ufrag/a=ice-pwd"
        case .missingFingerprint: "offer has no a=fingerprint"
        case .unsupportedFingerprintAlgorithm(let name): "fingerprint algorithm \(name) is not supported (use sha-256)"
        case .noUsableMedia(let why): "no usable media: \(why)"
        }
    }
}

/// A media kind our answerer handles.
public enum NegotiatedKind: String, Sendable, Equatable {
    case audio, video
}

/// The codec chosen for one m-line, with the feedback we agreed to.
public struct NegotiatedCodec: Sendable, Equatable {
    public var payloadType: UInt8
    public var name: String
    public var clockRate: UInt32
    public var channels: Int?
    public var parameters: String
    public var feedback: [SDPRTCPFeedback]
    /// The RTX payload type (RFC 4588, `a=fmtp:<rtx> apt=<payloadType>`) agreed for this codec:
    /// retransmissions travel on their own SSRC and sequence numbers, so the receiver's loss and
    /// jitter statistics of the media stream stay clean. Nil: retransmissions reuse the media stream.
    public var rtxPayloadType: UInt8?

    public init(payloadType: UInt8, name: String, clockRate: UInt32, channels: Int? = nil, parameters: String = "",
                feedback: [SDPRTCPFeedback] = [], rtxPayloadType: UInt8? = nil) {
        self.rtxPayloadType = rtxPayloadType
        self.payloadType = payloadType
        self.name = name
        self.clockRate = clockRate
        self.channels = channels
        self.parameters = parameters
        self.feedback = feedback
    }
}

/// The outcome of negotiating one m-line of the offer.
public struct NegotiatedMedia: Sendable, Equatable {
    /// Index of the m-line in the offer (and answer).
    public var index: Int
    public var mid: String
    public var kind: NegotiatedKind
    /// Our direction in the answer.
    public var direction: SDPDirection
    public var codec: NegotiatedCodec
    /// The offerer's media SSRCs for this m-line (RTX/FEC SSRCs excluded), from a=ssrc.
    public var remoteSSRCs: [UInt32]
    /// The offerer's RTX SSRCs for this m-line -> the media SSRC each repairs (FID groups);
    /// simulcast RTX streams are not listed (they are learned from the repaired-rid extension).
    public var remoteRTXSSRCs: [UInt32: UInt32] = [:]
    /// The mid header extension id (RFC 8843), when we accepted it.
    public var midExtensionID: UInt8?
    /// Simulcast (RFC 8853): the offerer's rids, each one a layer, as it listed them; empty
    /// without simulcast.
    public var rids: [String] = []
    /// The rid header extension id (RFC 8852), when simulcast was accepted.
    public var ridExtensionID: UInt8?
    /// The repaired-rid extension id (RFC 8852), when simulcast and RTX were accepted: an RTX
    /// packet's layer.
    public var repairedRidExtensionID: UInt8?
    /// The audio level header extension id (RFC 6464), when accepted (audio ingest).
    public var audioLevelExtensionID: UInt8?
    /// The transport-wide sequence number extension id, when accepted: on ingest we then send
    /// transport-cc feedback for the sender's bandwidth estimator; on an m-line we send on
    /// (one peer connection both ways) we write it and read the receiver's feedback.
    public var transportCCExtensionID: UInt8?
    /// What we send on this m-line (answers with `.send`).
    public var sending: OutgoingTrack?
}

/// A track we offer to send on an m-line of the answer (WHEP).
public struct OutgoingTrack: Sendable, Equatable {
    public var kind: NegotiatedKind
    /// The publisher's codec: the subscriber's m-line must offer the same encoding.
    public var codecName: String
    public var codecParameters: String
    public var ssrc: UInt32
    /// The SSRC retransmissions are sent on (paired with `ssrc` by an FID group) when RTX is
    /// negotiated for the m-line; video only.
    public var rtxSSRC: UInt32?
    public var streamID: String
    public var trackID: String
    public var cname: String
    /// Opaque tag for the caller (e.g. the published track's id).
    public var tag: String

    public init(kind: NegotiatedKind, codecName: String, codecParameters: String = "", ssrc: UInt32,
                rtxSSRC: UInt32? = nil, streamID: String, trackID: String, cname: String, tag: String) {
        self.rtxSSRC = rtxSSRC
        self.kind = kind
        self.codecName = codecName
        self.codecParameters = codecParameters
        self.ssrc = ssrc
        self.streamID = streamID
        self.trackID = trackID
        self.cname = cname
        self.tag = tag
    }
}

/// Our side of the transport, written into the answer.
public struct LocalTransportDescription: Sendable, Equatable {
    public var ufrag: String
    public var password: String
    /// sha-256 fingerprint, "AB:CD:..."
    public var fingerprint: String
    /// "candidate:..." values.
    public var candidates: [String]

    public init(ufrag: String, password: String, fingerprint: String, candidates: [String]) {
        self.ufrag = ufrag
        self.password = password
        self.fingerprint = fingerprint
        self.candidates = candidates
    }
}

/// The remote transport parameters taken from an offer.
public struct RemoteTransportDescription: Sendable, Equatable {
    public var ufrag: String
    public var password: String
    public var fingerprint: String
    public var candidates: [String]
    /// Our DTLS role: the offerer's actpass/active makes us the passive side (server).
    public var localSetup: SDPSetupRole
}

/// Builds a server-side SDP answer (JSEP answerer) to a browser-style offer: one BUNDLE group,
/// rtcp-mux, ICE credentials and candidates gathered in advance (no trickle), sha-256 fingerprint.
///
/// Codecs: Opus 48000/2 for audio; VP8 or H.264 (packetization-mode=1, constrained baseline
/// 42e01f/42001f preferred) for video, in the offerer's preference order, with the offered RTX
/// payload type of the chosen codec (see `NegotiatedCodec.rtxPayloadType`). RED and ULPFEC are
/// left out.
public enum SDPAnswerer {
    public enum Mode: Sendable, Equatable {
        /// WHIP ingest: we receive every audio/video m-line (answer recvonly).
        case receive
        /// WHEP playback: we send `tracks`, each on an offered m-line of its kind (answer sendonly).
        case send(tracks: [OutgoingTrack])
        /// LiveKit's single peer connection (`/rtc/v1`): the client offers everything. We
        /// receive on the m-lines it sends on, send `sending[mid]` on its recvonly m-lines, and
        /// answer the recvonly m-lines with nothing assigned inactive (slots kept for later).
        case publishAndSubscribe(sending: [String: OutgoingTrack])
    }

    public static let supportedFeedback: Set<String> = ["nack", "nack pli", "ccm fir", "goog-remb"]
    /// Largest data channel message we accept (`a=max-message-size`); larger ones would be cut
    /// off silently by some stacks, so we say it.
    public static let maxMessageSize = 262_144

    /// Remote ICE/DTLS parameters of the offer (from the first non-rejected m-line or session level).
    public static func remoteTransport(of offer: SessionDescription) throws(NegotiationError) -> RemoteTransportDescription {
        guard let first = offer.mediaSections.first(where: { !$0.isRejected }) ?? offer.mediaSections.first else {
            throw .noUsableMedia("offer has no m= lines")
        }
        guard let credentials = offer.iceCredentials(for: first) else { throw .missingICECredentials }
        let fingerprints = offer.fingerprints(for: first)
        guard !fingerprints.isEmpty else { throw .missingFingerprint }
        guard let fingerprint = fingerprints.first(where: { $0.hashFunction.lowercased() == "sha-256" }) else {
            throw .unsupportedFingerprintAlgorithm(fingerprints[0].hashFunction)
        }
        let remoteSetup = first.setup ?? offer.setup ?? .actpass
        let localSetup: SDPSetupRole = remoteSetup == .passive ? .active : .passive
        // With BUNDLE every m-line shares the transport of the first one (the BUNDLE tag); stacks
        // such as aiortc still list other ports on later m-lines, which die once bundled. Only
        // when the first m-line carries no candidates do we look at the others.
        var candidates: [String] = []
        let sources = first.candidates.isEmpty ? offer.mediaSections : [first]
        for section in sources {
            for candidate in section.candidates where candidate.component == 1 {
                let text = candidate.description
                if !candidates.contains(text) { candidates.append(text) }
            }
        }
        return RemoteTransportDescription(ufrag: credentials.ufrag, password: credentials.pwd,
                                          fingerprint: fingerprint.value, candidates: candidates, localSetup: localSetup)
    }

    /// Builds the answer and what was negotiated per m-line.
    /// With `acceptData`, an SCTP data m-line (RFC 8841) is accepted too (sctp-port 5000 and
    /// `maxMessageSize` advertised), and an offer carrying only data is a valid offer.
    public static func answer(to offer: SessionDescription, mode: Mode, local: LocalTransportDescription,
                              sessionID: String = String(UInt64.random(in: 1...UInt64(Int64.max))),
                              sessionVersion: UInt64 = 2, acceptData: Bool = false,
                              maxMessageSize: Int = SDPAnswerer.maxMessageSize)
        throws(NegotiationError) -> (SessionDescription, [NegotiatedMedia]) {
        let remote = try remoteTransport(of: offer)
        var answer = SessionDescription(origin: SDPOrigin(sessionID: sessionID, sessionVersion: sessionVersion, address: "127.0.0.1"))
        answer.timing = SDPTiming()
        var negotiated: [NegotiatedMedia] = []
        var bundle: [String] = []
        var unusedTracks: [OutgoingTrack]
        if case .send(let tracks) = mode { unusedTracks = tracks } else { unusedTracks = [] }
        var reasons: [String] = []
        var acceptedData = false

        for (index, offered) in offer.mediaSections.enumerated() {
            let mid = offered.mid ?? String(index)
            var section = SDPMediaSection(kind: offered.kind, port: 9, proto: offered.proto, formats: [])
            section.mid = mid
            func reject(_ why: String) {
                reasons.append("m-line \(index) (\(offered.kind)): \(why)")
                section.port = 0
                section.formats = offered.formats.isEmpty ? ["0"] : [offered.formats[0]]
                section.direction = .inactive
            }
            let kind = NegotiatedKind(rawValue: offered.kind)
            if offered.isRejected {
                reject("rejected by the offerer")
            } else if let kind, offered.proto.contains("RTP") {
                // Which codecs the m-line can carry, and what we do on it.
                var chosen: NegotiatedCodec?
                var direction: SDPDirection = .inactive
                var sending: OutgoingTrack?
                // We receive on this m-line: header extensions for ingest are negotiated.
                var receiving = false
                switch mode {
                case .receive:
                    receiving = true
                    let offeredDirection = offered.direction ?? .sendrecv
                    direction = (offeredDirection == .sendrecv || offeredDirection == .sendonly) ? .recvonly : .inactive
                    chosen = pickCodec(offered, kind: kind)
                    if chosen == nil { reject("no supported codec offered (want \(kind == .audio ? "opus/48000/2" : "VP8 or H264 packetization-mode=1"))") }
                case .send:
                    let offeredDirection = offered.direction ?? .sendrecv
                    guard offeredDirection == .sendrecv || offeredDirection == .recvonly else {
                        reject("offerer does not receive on it")
                        break
                    }
                    if let at = unusedTracks.firstIndex(where: { $0.kind == kind && matchCodec(offered, for: $0) != nil }) {
                        let track = unusedTracks.remove(at: at)
                        chosen = matchCodec(offered, for: track)
                        sending = track
                        direction = .sendonly
                    } else if let codec = pickCodec(offered, kind: kind) {
                        // Nothing to send here (a viewer asking for audio from a video-only
                        // publisher): inactive, as a browser answers, not rejected. aiortc refuses
                        // answers whose rejected m-lines lack ICE credentials and a codec.
                        chosen = codec
                        direction = .inactive
                        reasons.append("m-line \(index) (\(offered.kind)): no \(kind.rawValue) track to send")
                    } else {
                        reject("no \(kind.rawValue) track to send with a codec this m-line offers")
                    }
                case .publishAndSubscribe(let assigned):
                    let offeredDirection = offered.direction ?? .sendrecv
                    if offeredDirection == .sendrecv || offeredDirection == .sendonly {
                        receiving = true
                        direction = .recvonly
                        chosen = pickCodec(offered, kind: kind)
                        if chosen == nil { reject("no supported codec offered (want \(kind == .audio ? "opus/48000/2" : "VP8 or H264 packetization-mode=1"))") }
                    } else if offeredDirection == .recvonly, let track = assigned[mid], let codec = matchCodec(offered, for: track) {
                        chosen = codec
                        sending = track
                        direction = .sendonly
                    } else if let codec = pickCodec(offered, kind: kind) ?? offered.codecs.first.map({ Self.negotiated($0, parameters: $0.parameters) }) {
                        // A receive slot with nothing to send yet (or a stopped transceiver):
                        // inactive, kept for a later answer.
                        chosen = codec
                        direction = .inactive
                    } else {
                        reject("no codec offered")
                    }
                }
                if let codec = chosen, section.port != 0 {
                    section.formats = [String(codec.payloadType)]
                    section.rtpMaps = [SDPRTPMap(payloadType: codec.payloadType, encodingName: codec.name,
                                                 clockRate: codec.clockRate, channels: codec.channels)]
                    if !codec.parameters.isEmpty {
                        section.fmtps = [SDPFmtp(payloadType: codec.payloadType, parameters: codec.parameters)]
                    }
                    section.rtcpFeedback = codec.feedback
                    section.direction = direction
                    // RTX: accepted when the offer pairs an rtx payload type with the chosen codec,
                    // on m-lines we receive (the publisher then repairs on its own RTX stream,
                    // unwrapped on arrival, see PeerConnection) and on video m-lines we send with
                    // an RTX SSRC.
                    if kind == .video, let rtx = offered.rtxPayloadType(forPrimary: codec.payloadType),
                       receiving || sending?.rtxSSRC != nil {
                        chosen?.rtxPayloadType = rtx
                        section.formats.append(String(rtx))
                        section.rtpMaps.append(SDPRTPMap(payloadType: rtx, encodingName: "rtx", clockRate: codec.clockRate))
                        section.fmtps.append(SDPFmtp(payloadType: rtx, parameters: "apt=\(codec.payloadType)"))
                    }
                    var midExtension: UInt8?
                    var ridExtension: UInt8?
                    var rids: [String] = []
                    var repairedRidExtension: UInt8?
                    if receiving, let id = offered.extmapID(for: RTPHeaderExtensionURI.mid) {
                        // Only on ingest: forwarded packets keep the publisher's extension ids, so
                        // we negotiate no extensions with subscribers (aiortc routes by SSRC/PT).
                        section.extmaps = [SDPExtmap(id: id, uri: RTPHeaderExtensionURI.mid)]
                        midExtension = id
                    }
                    var transportCCExtension: UInt8?
                    if receiving, let id = offered.extmapID(for: RTPHeaderExtensionURI.transportWideCC),
                       offered.rtcpFeedback.contains(where: { $0.type == "transport-cc" }) {
                        section.extmaps.append(SDPExtmap(id: id, uri: RTPHeaderExtensionURI.transportWideCC))
                        section.rtcpFeedback.append(SDPRTCPFeedback(payloadType: codec.payloadType, type: "transport-cc", parameter: nil))
                        transportCCExtension = id
                    }
                    var audioLevelExtension: UInt8?
                    if receiving, kind == .audio, let id = offered.extmapID(for: RTPHeaderExtensionURI.audioLevel) {
                        // Active speakers come from the level the publisher's client measured.
                        section.extmaps.append(SDPExtmap(id: id, uri: RTPHeaderExtensionURI.audioLevel))
                        audioLevelExtension = id
                    }
                    if receiving, let simulcast = offered.simulcast, !simulcast.sendRids.isEmpty,
                       let id = offered.extmapID(for: RTPHeaderExtensionURI.rid) {
                        // Simulcast ingest: receive every offered rid; packets name their layer
                        // with the rid extension until we have seen their SSRC.
                        rids = simulcast.sendRids.filter { rid in offered.rids.contains { $0.id == rid && $0.direction == .send } }
                        if !rids.isEmpty {
                            section.extmaps.append(SDPExtmap(id: id, uri: RTPHeaderExtensionURI.rid))
                            section.rids = rids.map { SDPRid(id: $0, direction: .recv) }
                            section.simulcast = SDPSimulcast(recv: [rids.map { SDPSimulcast.Stream(rid: $0) }])
                            ridExtension = id
                            if chosen?.rtxPayloadType != nil,
                               let repairedID = offered.extmapID(for: RTPHeaderExtensionURI.repairedRid) {
                                section.extmaps.append(SDPExtmap(id: repairedID, uri: RTPHeaderExtensionURI.repairedRid))
                                repairedRidExtension = repairedID
                            }
                        }
                    }
                    if case .publishAndSubscribe = mode, !receiving {
                        // Chrome offers later m-lines only the header extensions its earlier
                        // offers got back: answering these without them would take the rid
                        // extension away from the camera it publishes next ("negotiates
                        // simulcast but does not negotiate the RID RTP header extension").
                        // We send one: the transport-wide sequence number the SFU writes over
                        // the publisher's block (the rest are hidden, see DownTrack), with its
                        // feedback, for the viewer's downlink estimate.
                        section.extmaps = offered.extmaps
                        if let id = offered.extmapID(for: RTPHeaderExtensionURI.transportWideCC),
                           offered.rtcpFeedback.contains(where: { $0.type == "transport-cc" }) {
                            section.rtcpFeedback.append(SDPRTCPFeedback(payloadType: codec.payloadType, type: "transport-cc", parameter: nil))
                            transportCCExtension = id
                        }
                    }
                    if let sending {
                        section.msids = [SDPMediaStreamID(streamID: sending.streamID, trackID: sending.trackID)]
                        section.ssrcs = SDPOfferer.ssrcAttributes(of: sending, withRTX: chosen?.rtxPayloadType != nil)
                        if chosen?.rtxPayloadType != nil, let rtxSSRC = sending.rtxSSRC {
                            section.ssrcGroups = [SDPSSRCGroup(semantics: "FID", ssrcs: [sending.ssrc, rtxSSRC])]
                        }
                    }
                    negotiated.append(NegotiatedMedia(
                        index: index, mid: mid, kind: kind, direction: direction, codec: chosen ?? codec,
                        remoteSSRCs: rids.isEmpty ? mediaSSRCs(of: offered) : [],
                        remoteRTXSSRCs: receiving && chosen?.rtxPayloadType != nil && rids.isEmpty ? rtxSSRCs(of: offered) : [:],
                        midExtensionID: midExtension,
                        rids: rids, ridExtensionID: ridExtension, repairedRidExtensionID: repairedRidExtension,
                        audioLevelExtensionID: audioLevelExtension,
                        transportCCExtensionID: transportCCExtension, sending: sending))
                    bundle.append(mid)
                }
            } else if acceptData, offered.kind == "application", offered.proto.uppercased().contains("SCTP"),
                      !acceptedData {
                // One SCTP association per transport: the first data m-line carries it.
                section.formats = offered.formats.isEmpty ? ["webrtc-datachannel"] : offered.formats
                section.sctpPort = 5000
                section.maxMessageSize = maxMessageSize
                acceptedData = true
                bundle.append(mid)
            } else {
                reject("\(offered.kind) \(offered.proto) is not supported")
            }
            if section.port != 0 {
                section.connection = SDPConnection(address: "0.0.0.0")
                if section.kind != "application" {
                    section.rtcp = "9 IN IP4 0.0.0.0"
                    section.rtcpMux = true
                }
                section.iceUfrag = local.ufrag
                section.icePwd = local.password
                section.iceOptions = []
                section.fingerprints = [SDPFingerprint(hashFunction: "sha-256", value: local.fingerprint)]
                section.setup = remote.localSetup
                section.candidates = local.candidates.compactMap { try? ICECandidate(parsing: $0) }
                section.endOfCandidates = true
            } else {
                section.connection = SDPConnection(address: "0.0.0.0")
            }
            answer.mediaSections.append(section)
        }
        let usable = switch mode {
        case .send: negotiated.contains { $0.sending != nil }
        case .receive, .publishAndSubscribe: !negotiated.isEmpty
        }
        guard usable || acceptedData else {
            throw .noUsableMedia(reasons.isEmpty ? "offer has no audio or video" : reasons.joined(separator: "; "))
        }
        answer.groups = [SDPGroup(semantics: "BUNDLE", identifiers: bundle)]
        switch mode {
        case .send, .publishAndSubscribe: answer.msidSemantic = " WMS"
        case .receive: break
        }
        return (answer, negotiated)
    }

    // MARK: Codec choice

    /// The first codec of the m-line (offerer's order) that we accept for `kind`.
    static func pickCodec(_ media: SDPMediaSection, kind: NegotiatedKind) -> NegotiatedCodec? {
        let codecs = media.codecs
        switch kind {
        case .audio:
            guard let opus = codecs.first(where: { $0.name.lowercased() == "opus" && $0.clockRate == 48000 && ($0.channels ?? 1) == 2 }) else {
                return nil
            }
            return negotiated(opus, parameters: opus.parameters)
        case .video:
            // Among H.264 entries prefer constrained baseline with packetization-mode=1.
            let h264 = codecs.filter { $0.name.lowercased() == "h264" && $0.parameterDictionary["packetization-mode"] == "1" }
            let preferredH264 = h264.first { ["42e01f", "42001f"].contains(($0.parameterDictionary["profile-level-id"] ?? "").lowercased()) }
                ?? h264.first
            for codec in codecs {
                let name = codec.name.lowercased()
                if name == "vp8", codec.clockRate == 90000 { return negotiated(codec, parameters: codec.parameters) }
                if name == "h264", let preferredH264 { return negotiated(preferredH264, parameters: preferredH264.parameters) }
            }
            return nil
        }
    }

    /// The subscriber's payload type for the publisher's codec of `track`, if the m-line offers it.
    static func matchCodec(_ media: SDPMediaSection, for track: OutgoingTrack) -> NegotiatedCodec? {
        let wanted = track.codecName.lowercased()
        let candidates = media.codecs.filter { $0.name.lowercased() == wanted }
        guard !candidates.isEmpty else { return nil }
        if wanted == "h264" {
            let publisherProfile = (SDPFmtp(payloadType: 0, parameters: track.codecParameters).parameterDictionary["profile-level-id"] ?? "").lowercased()
            let mode1 = candidates.filter { $0.parameterDictionary["packetization-mode"] == "1" }
            guard !mode1.isEmpty else { return nil }
            let pick = mode1.first { ($0.parameterDictionary["profile-level-id"] ?? "").lowercased() == publisherProfile }
                ?? mode1.first { ($0.parameterDictionary["profile-level-id"] ?? "").lowercased().hasPrefix(String(publisherProfile.prefix(2))) }
                ?? mode1[0]
            return negotiated(pick, parameters: pick.parameters)
        }
        if wanted == "opus" {
            guard let opus = candidates.first(where: { $0.clockRate == 48000 }) else { return nil }
            return negotiated(opus, parameters: opus.parameters)
        }
        return negotiated(candidates[0], parameters: candidates[0].parameters)
    }

    private static func negotiated(_ codec: SDPCodec, parameters: String) -> NegotiatedCodec {
        var feedback: [SDPRTCPFeedback] = []
        for fb in codec.feedback {
            let key = fb.parameter.map { "\(fb.type) \($0)" } ?? fb.type
            guard supportedFeedback.contains(key) else { continue }
            let item = SDPRTCPFeedback(payloadType: codec.payloadType, type: fb.type, parameter: fb.parameter)
            if !feedback.contains(item) { feedback.append(item) }
        }
        return NegotiatedCodec(payloadType: codec.payloadType, name: codec.name, clockRate: codec.clockRate,
                               channels: codec.channels, parameters: parameters, feedback: feedback)
    }

    /// The m-line's FID groups as RTX SSRC -> media SSRC.
    static func rtxSSRCs(of media: SDPMediaSection) -> [UInt32: UInt32] {
        var pairs: [UInt32: UInt32] = [:]
        for group in media.ssrcGroups where group.semantics == "FID" && group.ssrcs.count == 2 {
            pairs[group.ssrcs[1]] = group.ssrcs[0]
        }
        return pairs
    }

    /// SSRCs of the m-line without the repair streams named second in FID/FEC-FR groups.
    static func mediaSSRCs(of media: SDPMediaSection) -> [UInt32] {
        var repair = Set<UInt32>()
        for group in media.ssrcGroups where group.semantics == "FID" || group.semantics == "FEC-FR" {
            for ssrc in group.ssrcs.dropFirst() { repair.insert(ssrc) }
        }
        return media.ssrcList.filter { !repair.contains($0) }
    }
}
