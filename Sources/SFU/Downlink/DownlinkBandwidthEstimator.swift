#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One subscriber's downlink estimate, send-side, from its transport-wide CC feedback, in the
/// manner of libwebrtc's goog-cc (read for the ideas, not the code):
///
/// - Delay-based: packets are grouped by send time (5 ms bursts); for consecutive groups the
///   arrival delta minus the send delta is the queueing delay added on the way. Its running sum,
///   smoothed, is fitted with a line over the last `trendWindow` groups: a rising slope means a
///   queue builds (over-use), a falling one that it drains (under-use). The slope is compared
///   with an adaptive threshold so a jittery link does not read as congested.
/// - Rate control (AIMD): over-use drops the estimate to `decreaseFactor` x the bitrate the
///   viewer acknowledged receiving; normal use lets it grow 8 % a second, never beyond 1.5 x
///   what was acknowledged (what was not sent was not proven); under-use holds it.
/// - Loss-based: more than 10 % of the fed-back packets lost cuts it by half the loss; under
///   2 % lets it grow as above.
/// - Probes (padding clusters sent back to back): their second half's arrival spread is the
///   bottleneck's rate; a probe faster than the estimate raises it at once (the only way up
///   beyond what is being sent).
/// - REMB, for a viewer that gives no TWCC feedback, is taken as the estimate as is.
///
/// nil means no limit is known yet: a viewer starts with everything it asks for and the
/// estimate appears at the first sign of congestion. A value type fed on the room's thread:
/// no allocation after `init` (the trend window is a fixed ring).
public struct DownlinkBandwidthEstimator: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var minBitrate: Double = 30_000
        public var maxBitrate: Double = 20_000_000
        /// Packets sent within this span (ns) of a group's first form one group.
        public var groupSpan: UInt64 = 5_000_000
        public var trendWindow = 20
        public var decreaseFactor = 0.85
        /// Multiplicative increase per second under normal use.
        public var increasePerSecond = 1.08
        /// After a decrease, no other for this long (ns), and the loss and delay seen meanwhile
        /// are not held against the new estimate: the queue built before it takes a while to
        /// drain (a few hundred ms of buffer, one feedback interval, a keyframe for the lower
        /// layer), and reacting to it again would cut the estimate far below the link.
        public var decreaseInterval: UInt64 = 1_000_000_000
        /// Packets sent this long (ns) after a probe cluster wait behind it at the bottleneck:
        /// their delay is the probe's doing, not a trend.
        public var probeShadow: UInt64 = 250_000_000
        /// REMB is used only when TWCC feedback has been silent this long (ns).
        public var transportFeedbackTimeout: UInt64 = 2_000_000_000
        public init() {}
    }

    public enum Usage: Sendable, Equatable {
        case normal, overusing, underusing
    }

    public let configuration: Configuration
    /// Bits per second the downlink is believed to carry; nil: no limit known.
    public private(set) var estimate: Double?
    public private(set) var usage: Usage = .normal
    /// Bits per second the viewer acknowledged receiving, smoothed; nil before enough feedback.
    public private(set) var acknowledgedBitrate: Double?
    /// The same over the last quarter second alone: while the link is congested, what gets
    /// through is the bottleneck's rate, and the first reaction should go there at once.
    public private(set) var recentAcknowledgedBitrate: Double?
    /// Share of fed-back packets lost over the last loss window (0...1).
    public private(set) var loss: Double = 0
    /// The last probe's measured rate (bits/s), for stats.
    public private(set) var lastProbeBitrate: Double?
    /// True when the last finished probe raised the estimate.
    public private(set) var lastProbeRaised = false
    public private(set) var probesMeasured = 0
    public private(set) var overuseEvents = 0
    /// The latest trend (ms of delay growth per ms, scaled) and threshold, for stats and tests.
    public private(set) var trend: Double = 0
    public private(set) var threshold: Double = 12.5

    // Packet groups (send time ns, arrival us of the last packet).
    private var groupFirstSend: UInt64 = 0
    private var groupLastSend: UInt64 = 0
    private var groupLastArrival: Int64 = 0
    private var groupOpen = false
    private var previousGroupSend: UInt64 = 0
    private var previousGroupArrival: Int64 = 0
    private var hasPreviousGroup = false
    private var firstArrival: Int64?

    // Trendline: accumulated and smoothed delay, and a ring of (arrival ms, smoothed delay ms).
    private var accumulatedDelay: Double = 0
    private var smoothedDelay: Double = 0
    private var windowX: [Double]
    private var windowY: [Double]
    private var windowStart = 0
    private var windowCount = 0
    private var deltasSeen = 0
    private var overuseStartedAt: Int64?
    private var previousTrend: Double = 0
    private var lastThresholdUpdate: Int64?

    // Acknowledged bytes over an arrival window.
    private var ackWindowBytes = 0
    private var ackWindowStart: Int64?
    private var ackWindowEnd: Int64 = 0

    // Loss over a window of fed-back packets.
    private var lossWindowPackets = 0
    private var lossWindowLost = 0

    // Probe cluster being measured.
    private var probeID: UInt8 = 0
    private var probeSize = 0
    private var probeSeen = 0
    private var probeReceived = 0
    private var probeLateBytes = 0
    private var probeLateFirstArrival: Int64?
    private var probeLateLastArrival: Int64 = 0

    private var lastDecrease: UInt64?
    private var probeSentAt: UInt64?
    private var lastUpdate: UInt64?
    public private(set) var lastTransportFeedback: UInt64?

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        windowX = Array(repeating: 0, count: max(2, configuration.trendWindow))
        windowY = Array(repeating: 0, count: max(2, configuration.trendWindow))
    }

    // MARK: Feedback

    /// One fed-back packet, in sequence order: when and how big it was sent, when it arrived
    /// (microseconds on the viewer's clock; nil: lost).
    public mutating func packet(sentAt: UInt64, size: Int, arrival: Int64?, probeID: UInt8 = 0) {
        lossWindowPackets += 1
        if probeID != 0, probeID == self.probeID { probeSeen += 1 }
        guard let arrival else {
            lossWindowLost += 1
            return
        }
        if probeID != 0, probeID == self.probeID {
            probeReceived += 1
            // The second half of the cluster: the bottleneck's queue has formed by then (a token
            // bucket's burst, a radio's first grant), so its spread is the sustained rate.
            if probeSeen > probeSize / 2 {
                if probeLateFirstArrival == nil {
                    probeLateFirstArrival = arrival
                } else {
                    probeLateBytes += size
                }
                probeLateLastArrival = max(probeLateLastArrival, arrival)
            }
        }
        // A probe cluster leaves back to back and queues at the bottleneck on purpose: its own
        // spread is measured above, and the delay it causes is not a trend.
        if probeID != 0 { return }
        let inProbeShadow = probeSentAt.map { sentAt >= $0 && sentAt - $0 < configuration.probeShadow } ?? false
        // Acknowledged rate.
        if ackWindowStart == nil { ackWindowStart = arrival }
        ackWindowBytes += size
        ackWindowEnd = max(ackWindowEnd, arrival)
        if let start = ackWindowStart, ackWindowEnd - start >= 250_000 {
            let rate = Double(ackWindowBytes) * 8 * 1_000_000 / Double(ackWindowEnd - start)
            recentAcknowledgedBitrate = rate
            acknowledgedBitrate = acknowledgedBitrate.map { 0.6 * $0 + 0.4 * rate } ?? rate
            ackWindowStart = ackWindowEnd
            ackWindowBytes = 0
        }
        // Delay groups.
        if inProbeShadow { return }
        if !groupOpen {
            groupFirstSend = sentAt
            groupLastSend = sentAt
            groupLastArrival = arrival
            groupOpen = true
            return
        }
        if sentAt >= groupFirstSend, sentAt - groupFirstSend <= configuration.groupSpan {
            groupLastSend = max(groupLastSend, sentAt)
            groupLastArrival = max(groupLastArrival, arrival)
            return
        }
        if sentAt < groupFirstSend { return }  // reordered from an older group: ignore
        // The open group is complete.
        if hasPreviousGroup {
            let sendDelta = Double(groupLastSend &- previousGroupSend) / 1_000_000
            let arrivalDelta = Double(groupLastArrival - previousGroupArrival) / 1_000
            updateTrend(delayVariation: arrivalDelta - sendDelta, arrivalMicroseconds: groupLastArrival)
        }
        previousGroupSend = groupLastSend
        previousGroupArrival = groupLastArrival
        hasPreviousGroup = true
        groupFirstSend = sentAt
        groupLastSend = sentAt
        groupLastArrival = arrival
    }

    /// The end of one feedback packet: acts on what it said.
    public mutating func feedbackEnded(now: UInt64) {
        lastTransportFeedback = now
        finishProbeIfComplete()
        if let last = lastDecrease, now &- last < configuration.decreaseInterval {
            // The queue from before the decrease drains: its losses are old news.
            lossWindowPackets = 0
            lossWindowLost = 0
            lastUpdate = now
            return
        }
        if lossWindowPackets >= 50 {
            loss = Double(lossWindowLost) / Double(lossWindowPackets)
            lossWindowPackets = 0
            lossWindowLost = 0
            // From what actually arrived when that is less than the estimate (an estimate far
            // above the link would otherwise take many steps to come down).
            if loss > 0.10, let base = estimate ?? acknowledgedBitrate {
                var target = base * (1 - 0.5 * loss)
                // Not below what arrived over the last second or so: one quarter second that
                // arrived thin (a starved receiver reading its socket in bursts, a keyframe's
                // wait) must not cut the estimate far under the link; a link that really fell
                // pulls the smoothed rate down within a second or two.
                if let recent = recentAcknowledgedBitrate {
                    target = min(target, configuration.decreaseFactor * max(recent, acknowledgedBitrate ?? recent))
                }
                decrease(to: target, now: now)
            }
        }
        switch usage {
        case .overusing:
            // Only while we use most of the estimate (or lose packets): far below it (video
            // paused, a low layer) the delay is a keyframe's or a probe's burst, and the rate that
            // arrived says what we sent, not what the link holds.
            if let acknowledged = recentAcknowledgedBitrate.map({ min($0, acknowledgedBitrate ?? $0) }),
               estimate.map({ acknowledged >= 0.5 * $0 }) ?? true || loss > 0.10 {
                decrease(to: acknowledged * configuration.decreaseFactor, now: now)
            }
        case .normal where loss < 0.02:
            increase(now: now)
        default:
            break
        }
        lastUpdate = now
    }

    /// A probe cluster of `packets` padding packets went out under `id` (at about `now`).
    public mutating func probeSent(id: UInt8, packets: Int, now: UInt64? = nil) {
        probeSentAt = now
        probeID = id
        probeSize = packets
        probeSeen = 0
        probeReceived = 0
        probeLateBytes = 0
        probeLateFirstArrival = nil
        probeLateLastArrival = 0
    }

    /// A REMB from the viewer: the estimate when it gives no transport-wide feedback.
    public mutating func receiverEstimate(_ bitrate: Double, now: UInt64) {
        if let last = lastTransportFeedback, now &- last < configuration.transportFeedbackTimeout { return }
        estimate = clamp(bitrate)
    }

    /// Loss from a receiver report, for a viewer that gives neither TWCC nor REMB: the loss-based
    /// half alone, from what is being sent (`sendBitrate`).
    public mutating func receiverReportLoss(_ fraction: Double, sendBitrate: Double, now: UInt64) {
        if let last = lastTransportFeedback, now &- last < configuration.transportFeedbackTimeout { return }
        loss = fraction
        if fraction > 0.10 {
            decrease(to: min(estimate ?? sendBitrate, sendBitrate) * (1 - 0.5 * fraction), now: now)
        } else if fraction < 0.02, let current = estimate {
            let elapsed = lastUpdate.map { Double(now &- $0) / 1e9 } ?? 0
            estimate = clamp(current * pow(configuration.increasePerSecond, min(elapsed, 2)))
        }
        lastUpdate = now
    }

    // MARK: Internals

    private mutating func updateTrend(delayVariation: Double, arrivalMicroseconds: Int64) {
        let first = firstArrival ?? arrivalMicroseconds
        firstArrival = first
        deltasSeen += 1
        accumulatedDelay += delayVariation
        smoothedDelay = 0.9 * smoothedDelay + 0.1 * accumulatedDelay
        let x = Double(arrivalMicroseconds - first) / 1_000
        let capacity = windowX.count
        if windowCount == capacity {
            windowStart = (windowStart + 1) % capacity
            windowCount -= 1
        }
        let slot = (windowStart + windowCount) % capacity
        windowX[slot] = x
        windowY[slot] = smoothedDelay
        windowCount += 1
        guard windowCount == capacity else { return }
        // Least squares slope of smoothed delay over arrival time.
        var meanX = 0.0, meanY = 0.0
        for i in 0..<capacity { meanX += windowX[i]; meanY += windowY[i] }
        meanX /= Double(capacity)
        meanY /= Double(capacity)
        var numerator = 0.0, denominator = 0.0
        for i in 0..<capacity {
            numerator += (windowX[i] - meanX) * (windowY[i] - meanY)
            denominator += (windowX[i] - meanX) * (windowX[i] - meanX)
        }
        let slope = denominator == 0 ? 0 : numerator / denominator
        detect(slope: slope, at: arrivalMicroseconds)
    }

    private mutating func detect(slope: Double, at arrival: Int64) {
        let modified = Double(min(deltasSeen, 60)) * slope * 4
        trend = modified
        if modified > threshold {
            let started = overuseStartedAt ?? arrival
            overuseStartedAt = started
            if arrival - started >= 10_000, modified >= previousTrend {
                if usage != .overusing { overuseEvents += 1 }
                usage = .overusing
            }
        } else if modified < -threshold {
            overuseStartedAt = nil
            usage = .underusing
        } else {
            overuseStartedAt = nil
            usage = .normal
        }
        previousTrend = modified
        // Adaptive threshold: follows the trend slowly up, faster down; ignores spikes.
        let magnitude = abs(modified)
        if let last = lastThresholdUpdate, magnitude < threshold + 15 {
            let k = magnitude < threshold ? 0.039 : 0.0087
            let elapsed = Double(min(arrival - last, 100_000)) / 1_000
            threshold = min(600, max(6, threshold + k * (magnitude - threshold) * elapsed))
        }
        lastThresholdUpdate = arrival
    }

    private mutating func finishProbeIfComplete() {
        guard probeID != 0, probeSize > 0, probeSeen >= probeSize else { return }
        defer { probeID = 0 }
        guard probeReceived * 4 >= probeSize * 3, let first = probeLateFirstArrival, probeLateBytes > 0 else { return }
        // Arrivals within one feedback tick read as "at once": a link far faster than needed.
        let spread = max(probeLateLastArrival - first, 250)
        let rate = Double(probeLateBytes) * 8 * 1_000_000 / Double(spread)
        lastProbeBitrate = rate
        probesMeasured += 1
        lastProbeRaised = false
        // Kept below the measured rate by the same margin as a decrease, so a probe of a link
        // that is already full does not raise the estimate to where it would congest it.
        if let current = estimate, rate * configuration.decreaseFactor > current, usage != .overusing {
            estimate = clamp(rate * configuration.decreaseFactor)
            lastProbeRaised = true
        }
    }

    private mutating func decrease(to target: Double, now: UInt64) {
        if let last = lastDecrease, now &- last < configuration.decreaseInterval { return }
        // At most a halving per step, unless much of what was sent is being lost (then what
        // arrives is what the link carries): right after a pause or a layer drop little is sent,
        // and a keyframe's burst then reads as a tiny acknowledged rate, not as the link's.
        // With heavy loss, not below what arrived over the last second or so either: a starved
        // receiver's bunched feedback can make one quarter second look nearly empty.
        let floor = loss > 0.25 ? configuration.decreaseFactor * (acknowledgedBitrate ?? 0) : (estimate.map { $0 / 2 } ?? 0)
        let lowered = clamp(max(target, floor))
        if let current = estimate, lowered >= current { return }
        estimate = lowered
        lastDecrease = now
    }

    private mutating func increase(now: UInt64) {
        guard let current = estimate else { return }
        let elapsed = lastUpdate.map { Double(now &- $0) / 1e9 } ?? 0
        var next = current * pow(configuration.increasePerSecond, min(elapsed, 1))
        // What was not sent was not proven: grow only a little past what arrived.
        if let acknowledged = acknowledgedBitrate { next = min(next, max(current, 1.5 * acknowledged + 10_000)) }
        estimate = clamp(next)
    }

    private func clamp(_ value: Double) -> Double {
        min(configuration.maxBitrate, max(configuration.minBitrate, value))
    }
}
