import Media

/// The per-DownTrack forwarding decision for one published track (all its simulcast layers): which
/// layer to forward, when to switch, and how to rewrite each forwarded packet so the subscriber
/// sees one continuous RTP stream. A pure value: no I/O, no clock (every call takes the time), no
/// allocation after `init`. The caller (DownTrack) owns it and acts on its outputs.
///
/// Per incoming packet of *any* layer of the track, the DownTrack calls `process(_:)` and gets:
/// - `action`: `.drop(reason)` or `.forward(rewrite)` with the outgoing sequence number,
///   timestamp, marker and, for VP8, picture id / TL0PICIDX / KEYIDX to write in place;
/// - `keyframeNeeded`: the layer whose keyframe the forwarder waits for (send a throttled PLI
///   for that layer's SSRC), nil when none is needed;
/// - `streamStateChange`: send StreamStateUpdate PAUSED/ACTIVE to the subscriber;
/// - `layerSwitch`: informational (stats, logs).
///
/// ```swift
/// // PublishedTrack, once per incoming packet (after SRTP unprotect):
/// let info = Forwarder.Packet(rtp, layer: layerIndex, codec: .vp8, arrival: now)
/// // each DownTrack:
/// let decision = forwarder.process(info)
/// if let layer = decision.keyframeNeeded { pliThrottle.request(ssrc: layerSSRC[layer], now: now) }
/// if let state = decision.streamStateChange { delegate.streamStateChanged(state) }
/// if let rewrite = decision.rewrite {
///     // rewrite-send-restore: save seq/ts/marker/ssrc/pt (and the VP8 bytes), then
///     rewrite.apply(to: mutable, vp8: info.vp8); mutable.ssrc = ssrc; mutable.payloadType = pt
///     // protect + send, then restore the saved values for the next DownTrack.
/// }
/// ```
/// Control calls (`setSettings`, `setCap`, `tick`) return the same kind of outputs as `Update`.
///
/// Rules (PROTOCOL.md §3, LiveKit's forwarder, mediasoup's SimulcastConsumer):
/// - The target layer comes from the subscriber's settings, capped by the bandwidth allocator's
///   `Cap` and limited to layers that are arriving (a layer silent for
///   `Configuration.layerTimeout` is unavailable). See `LayerSelector.targetLayer`.
/// - Switching (up or down) happens only at the first packet of a keyframe of the target layer;
///   until then the current layer keeps flowing. When nothing is being forwarded (start, resume,
///   current layer gone) a keyframe of any arriving layer below the target starts forwarding at
///   once, and the switch up follows at the target's keyframe.
/// - At a switch the outgoing sequence continues at last + 1; the outgoing timestamp continues
///   from the same stream's own timing when resuming the same layer, else from RTCP sender reports
///   when both layers have one, else from the wall time elapsed since the last forwarded frame —
///   each candidate checked against the wall-time estimate.
/// - Paused (settings `disabled`, cap `.paused`, or no arriving layer fits the cap) drops
///   everything and reports `.paused`; forwarding resumes at a keyframe and reports `.active`
///   with the first forwarded packet. When no layer arrives at all (publisher stopped or muted)
///   nothing is forwarded but no pause is reported.
public struct Forwarder: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// RTP clock rate of the track (90 kHz for video).
        public var clockRate: UInt32
        /// A layer with no packet for this long (nanoseconds) is considered gone.
        public var layerTimeout: Int64
        /// How far (nanoseconds) a switch timestamp from sender reports or the stream's own clock
        /// may differ from the wall-time estimate before the estimate is used instead.
        public var timestampTolerance: Int64
        public var munger: RTPMunger.Configuration
        /// Where the outgoing stream starts; nil keeps the first forwarded layer's numbers.
        public var initialSequenceNumber: UInt16?
        public var initialTimestamp: UInt32?

        public init(
            clockRate: UInt32 = 90_000, layerTimeout: Int64 = 1_000_000_000,
            timestampTolerance: Int64 = 500_000_000, munger: RTPMunger.Configuration = .init(),
            initialSequenceNumber: UInt16? = nil, initialTimestamp: UInt32? = nil
        ) {
            self.clockRate = clockRate
            self.layerTimeout = layerTimeout
            self.timestampTolerance = timestampTolerance
            self.munger = munger
            self.initialSequenceNumber = initialSequenceNumber
            self.initialTimestamp = initialTimestamp
        }
    }

    /// LiveKit's StreamState for StreamStateUpdate.
    public enum StreamState: Sendable, Equatable {
        case active, paused
    }

    /// How to read keyframes out of a payload (see `Packet.init(_:layer:codec:arrival:)`).
    public enum Codec: Sendable, Equatable {
        case vp8, h264
        /// Every packet can start decoding (Opus and other audio).
        case audio
    }

    /// What the forwarder needs to know about one incoming packet. Build it once per packet in
    /// the PublishedTrack and hand the same value to every DownTrack.
    public struct Packet: Sendable, Equatable {
        /// Simulcast layer index from the bottom (0 for a non-simulcast track).
        public var layer: Int
        public var sequenceNumber: UInt16
        public var timestamp: UInt32
        public var marker: Bool
        /// The packet starts a keyframe (decoding can begin here).
        public var isKeyframe: Bool
        /// No payload (padding / bandwidth probe): skipped without a gap.
        public var isPaddingOnly: Bool
        /// The VP8 payload descriptor, for VP8 packets; nil otherwise.
        public var vp8: VP8PayloadDescriptor?
        /// Arrival time, monotonic nanoseconds.
        public var arrival: Int64

        public init(
            layer: Int, sequenceNumber: UInt16, timestamp: UInt32, marker: Bool = false,
            isKeyframe: Bool = false, isPaddingOnly: Bool = false, vp8: VP8PayloadDescriptor? = nil,
            arrival: Int64
        ) {
            self.layer = layer
            self.sequenceNumber = sequenceNumber
            self.timestamp = timestamp
            self.marker = marker
            self.isKeyframe = isKeyframe
            self.isPaddingOnly = isPaddingOnly
            self.vp8 = vp8
            self.arrival = arrival
        }
    }

    /// Header values for a forwarded packet (SSRC and payload type are the DownTrack's own).
    public struct Rewrite: Sendable, Equatable {
        public var sequenceNumber: UInt16
        public var timestamp: UInt32
        public var marker: Bool
        /// VP8 fields to rewrite in the payload descriptor; nil for other codecs.
        public var vp8: VP8Munger.Rewrite?

        public init(sequenceNumber: UInt16, timestamp: UInt32, marker: Bool, vp8: VP8Munger.Rewrite? = nil) {
            self.sequenceNumber = sequenceNumber
            self.timestamp = timestamp
            self.marker = marker
            self.vp8 = vp8
        }
    }

    public enum DropReason: Sendable, Equatable {
        /// The subscriber disabled the track, or bandwidth allows no layer.
        case paused
        /// No layer is arriving.
        case noLayer
        /// Not the layer being forwarded.
        case otherLayer
        /// Nothing is being forwarded yet: waiting for a keyframe to start or resume.
        case waitingForKeyframe
        /// In-order padding: skipped, the outgoing sequence stays gap-free.
        case paddingOnly
        /// Too late to map (beyond the reorder window).
        case tooOld
        /// Late packet from before the current layer was switched to.
        case beforeSwitch
        /// Layer index outside the track's layers.
        case unknownLayer
    }

    public enum Action: Sendable, Equatable {
        case forward(Rewrite)
        case drop(DropReason)
    }

    public struct LayerSwitch: Sendable, Equatable {
        /// The layer forwarded before (nil when starting or resuming).
        public var from: Int?
        public var to: Int
        public init(from: Int?, to: Int) {
            self.from = from
            self.to = to
        }
    }

    /// Result of one `process` call.
    public struct Decision: Sendable, Equatable {
        public var action: Action
        /// Layer to request a keyframe from (the caller throttles its PLIs); nil when none needed.
        public var keyframeNeeded: Int?
        /// Send StreamStateUpdate with this state.
        public var streamStateChange: StreamState?
        public var layerSwitch: LayerSwitch?

        public var rewrite: Rewrite? {
            if case .forward(let rewrite) = action { return rewrite }
            return nil
        }
    }

    /// Result of a control call (settings, cap, tick).
    public struct Update: Sendable, Equatable {
        public var streamStateChange: StreamState?
        public var keyframeNeeded: Int?
    }

    /// An RTCP sender report's clock pair for one layer.
    struct SenderReport: Sendable, Equatable {
        var ntp: UInt64
        var rtp: UInt32
    }

    public let configuration: Configuration
    public let selector: LayerSelector
    public private(set) var settings: LayerSelector.Settings
    public private(set) var cap: LayerSelector.Cap
    /// The layer the forwarder is heading for; nil when nothing should be forwarded.
    public private(set) var targetLayer: Int?
    /// The layer being forwarded; nil before the first keyframe, while paused, or after it stopped.
    public private(set) var currentLayer: Int?
    public private(set) var streamState: StreamState = .active
    /// Bit i set: layer i is arriving.
    public private(set) var availableLayers: UInt32 = 0

    private var munger: RTPMunger
    private var vp8Munger = VP8Munger()
    /// The layer whose timestamp space the munger holds (last anchored), for timestamp continuity.
    private var mungerLayer: Int?
    private var lastSeen: [Int64]
    private var senderReports: [SenderReport?]
    private var targetIsStale = true

    public init(
        layers: [LayerSelector.Layer], settings: LayerSelector.Settings = .quality(.high),
        cap: LayerSelector.Cap = .unlimited, configuration: Configuration = .init()
    ) {
        self.configuration = configuration
        self.selector = LayerSelector(layers: layers)
        self.settings = settings
        self.cap = cap
        self.munger = RTPMunger(
            configuration: configuration.munger, initialSequenceNumber: configuration.initialSequenceNumber,
            initialTimestamp: configuration.initialTimestamp)
        self.lastSeen = Array(repeating: .min, count: selector.layerCount)
        self.senderReports = Array(repeating: nil, count: selector.layerCount)
    }

    /// A forwarder for a non-simulcast track (one layer, index 0), audio or video.
    public init(singleLayer configuration: Configuration = .init()) {
        self.init(layers: [LayerSelector.Layer()], configuration: configuration)
    }

    /// Highest outgoing sequence number and timestamp sent (extended, never wrapping); nil before
    /// the first forwarded packet. Useful for the DownTrack's sender reports.
    public var highestOutgoingSequence: Int64? { munger.highestOutgoingSequence }
    public var highestOutgoingTimestamp: Int64? { munger.highestOutgoingTimestamp }

    // MARK: Control

    public mutating func setSettings(_ settings: LayerSelector.Settings, now: Int64) -> Update {
        if settings != self.settings {
            self.settings = settings
            targetIsStale = true
        }
        return update(now: now)
    }

    public mutating func setCap(_ cap: LayerSelector.Cap, now: Int64) -> Update {
        if cap != self.cap {
            self.cap = cap
            targetIsStale = true
        }
        return update(now: now)
    }

    /// Re-evaluates layer availability without a packet (call it from a periodic timer so a
    /// track whose every layer stopped is noticed too).
    public mutating func tick(now: Int64) -> Update { update(now: now) }

    /// Records an RTCP sender report of `layer` (its NTP time, 32.32 fixed point, and the RTP
    /// timestamp of that instant), used to align timestamps across a layer switch.
    public mutating func setSenderReport(layer: Int, ntpTimestamp: UInt64, rtpTimestamp: UInt32) {
        guard senderReports.indices.contains(layer) else { return }
        senderReports[layer] = SenderReport(ntp: ntpTimestamp, rtp: rtpTimestamp)
    }

    private mutating func update(now: Int64) -> Update {
        let change = refresh(now: now)
        return Update(streamStateChange: change, keyframeNeeded: targetLayer != currentLayer ? targetLayer : nil)
    }

    /// Outgoing sequence numbers for `count` padding packets (probes) sent now; see
    /// `RTPMunger.reservePadding`.
    public mutating func reservePadding(count: Int) -> (sequenceNumber: UInt16, timestamp: UInt32)? {
        munger.reservePadding(count: count)
    }

    // MARK: Per packet

    public mutating func process(_ packet: Packet) -> Decision {
        guard lastSeen.indices.contains(packet.layer) else {
            return Decision(action: .drop(.unknownLayer), keyframeNeeded: nil, streamStateChange: nil, layerSwitch: nil)
        }
        lastSeen[packet.layer] = packet.arrival
        var decision = Decision(action: .drop(.paused), keyframeNeeded: nil, streamStateChange: nil, layerSwitch: nil)
        decision.streamStateChange = refresh(now: packet.arrival)

        guard let target = targetLayer else {
            decision.action = .drop(streamState == .paused ? .paused : .noLayer)
            return decision
        }

        if packet.isKeyframe, packet.layer != currentLayer,
           packet.layer == target || (currentLayer == nil && packet.layer < target) {
            start(packet, &decision)
        } else if packet.layer == currentLayer {
            continueForwarding(packet, &decision)
        } else {
            decision.action = .drop(currentLayer == nil ? .waitingForKeyframe : .otherLayer)
        }
        decision.keyframeNeeded = target != currentLayer ? target : nil
        return decision
    }

    /// Anchors the mungers at this keyframe packet and makes its layer current.
    private mutating func start(_ packet: Packet, _ decision: inout Decision) {
        let outgoingTimestamp = anchorTimestamp(for: packet)
        guard case .forward(let seq, let ts) = munger.anchor(
            sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
            outgoingTimestamp: outgoingTimestamp, arrival: packet.arrival)
        else { return }  // anchor always forwards
        let vp8 = packet.vp8.map { vp8Munger.anchor($0) }
        decision.layerSwitch = LayerSwitch(from: currentLayer, to: packet.layer)
        currentLayer = packet.layer
        mungerLayer = packet.layer
        decision.action = .forward(Rewrite(sequenceNumber: seq, timestamp: ts, marker: packet.marker, vp8: vp8))
        if streamState == .paused {
            streamState = .active
            decision.streamStateChange = .active
        }
    }

    private mutating func continueForwarding(_ packet: Packet, _ decision: inout Decision) {
        switch munger.map(
            sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
            paddingOnly: packet.isPaddingOnly, arrival: packet.arrival)
        {
        case .forward(let seq, let ts):
            let vp8 = packet.vp8.map { vp8Munger.map($0) }
            decision.action = .forward(Rewrite(sequenceNumber: seq, timestamp: ts, marker: packet.marker, vp8: vp8))
        case .drop(.skipped):
            decision.action = .drop(.paddingOnly)
        case .drop(.tooOld):
            decision.action = .drop(.tooOld)
        case .drop(.beforeAnchor):
            decision.action = .drop(.beforeSwitch)
        case .drop(.notAnchored):
            decision.action = .drop(.waitingForKeyframe)
        }
    }

    /// The extended outgoing timestamp for an anchor packet (nil for the very first).
    private func anchorTimestamp(for packet: Packet) -> Int64? {
        guard let highest = munger.highestOutgoingTimestamp,
              let frameTimestamp = munger.lastFrameOutgoingTimestamp
        else { return nil }
        let rate = Double(configuration.clockRate)
        let elapsed = Double(max(0, packet.arrival - munger.lastFrameArrival))
        let wall = frameTimestamp + max(1, Int64((elapsed * rate / 1e9).rounded()))
        let tolerance = Int64((Double(configuration.timestampTolerance) * rate / 1e9).rounded())
        func plausible(_ candidate: Int64) -> Bool {
            candidate > highest && abs(candidate - wall) <= tolerance
        }
        if let previous = mungerLayer {
            if previous == packet.layer,
               let candidate = munger.outgoingTimestamp(forAnchoredStream: packet.timestamp),
               plausible(candidate) {
                return candidate
            }
            if previous != packet.layer, let old = senderReports[previous], let new = senderReports[packet.layer] {
                // The packet's capture time on the NTP clock, expressed in the old layer's RTP time.
                let sinceNewReport = Double(Int32(bitPattern: packet.timestamp &- new.rtp)) / rate
                let reportsApart = Double(Int64(bitPattern: new.ntp &- old.ntp)) / 4_294_967_296.0
                let inOld = Int64(old.rtp) + Int64(((reportsApart + sinceNewReport) * rate).rounded())
                if let candidate = munger.outgoingTimestamp(forAnchoredStream: UInt32(truncatingIfNeeded: inOld)),
                   plausible(candidate) {
                    return candidate
                }
            }
        }
        return max(wall, highest + 1)
    }

    /// Updates availability, target layer and pause state; returns a stream state change.
    private mutating func refresh(now: Int64) -> StreamState? {
        var mask: UInt32 = 0
        for layer in lastSeen.indices where lastSeen[layer] != .min && now - lastSeen[layer] <= configuration.layerTimeout {
            mask |= 1 << UInt32(layer)
        }
        if mask != availableLayers || targetIsStale {
            availableLayers = mask
            targetIsStale = false
            targetLayer = selector.targetLayer(settings: settings, cap: cap, available: mask)
        }
        if let current = currentLayer, mask & (1 << UInt32(current)) == 0 || targetLayer == nil {
            stopForwarding()
        }
        // Paused: forwarding stops for the subscriber's or the allocator's reasons (not because
        // the publisher sends nothing at all).
        let shouldPause = targetLayer == nil
            && (selector.desiredLayer(for: settings) == nil || cap == .paused || mask != 0)
        if shouldPause, streamState == .active {
            streamState = .paused
            return .paused
        }
        return nil
    }

    private mutating func stopForwarding() {
        currentLayer = nil
        munger.unanchor()
        vp8Munger.unanchor()
    }
}

extension Forwarder.Packet {
    /// Reads what the forwarder needs from a parsed RTP packet: keyframe start (VP8 descriptor,
    /// H.264 IDR/SPS/PPS, any audio packet), padding-only, the VP8 descriptor.
    public init(_ rtp: RTPPacket, layer: Int, codec: Forwarder.Codec, arrival: Int64) {
        let padding = rtp.payloadLength == 0
        var keyframe = false
        var vp8: VP8PayloadDescriptor?
        if !padding {
            switch codec {
            case .vp8:
                vp8 = try? VP8PayloadDescriptor(parsing: rtp.payload)
                keyframe = vp8?.isKeyframe ?? false
            case .h264:
                keyframe = H264Payload.isKeyframe(rtp.payload)
            case .audio:
                keyframe = true
            }
        }
        self.init(
            layer: layer, sequenceNumber: rtp.sequenceNumber, timestamp: rtp.timestamp, marker: rtp.marker,
            isKeyframe: keyframe, isPaddingOnly: padding, vp8: vp8, arrival: arrival)
    }
}

extension Forwarder.Rewrite {
    /// Writes sequence number, timestamp, marker and the VP8 fields into `packet` in place
    /// (`descriptor` is the packet's parsed VP8 descriptor, i.e. `Packet.vp8`). The caller sets
    /// its own SSRC and payload type, and restores the original values after sending.
    public func apply(to packet: MutableRTPPacket, vp8 descriptor: VP8PayloadDescriptor?) {
        packet.sequenceNumber = sequenceNumber
        packet.timestamp = timestamp
        packet.marker = marker
        if let vp8, let descriptor {
            descriptor.rewrite(packet.payload, pictureID: vp8.pictureID, tl0PicIdx: vp8.tl0PicIdx, keyIndex: vp8.keyIndex)
        }
    }
}
