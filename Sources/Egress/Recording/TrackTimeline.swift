import SFU

/// Maps one track's RTP timestamps to nanoseconds on a clock shared by every track of a recording.
///
/// RTP timestamps start at a random value and wrap at 2^32, and each track has its own. Two ways
/// to put a track on the shared clock:
/// - by arrival: the first packet's timestamp happened when that packet arrived (monotonic clock);
/// - by sender report: RTCP SR pairs an RTP timestamp with the sender's NTP wall clock, the same
///   clock for all of a publisher's tracks, so lip sync survives a video path that is slower than
///   the audio path. The recorder chooses which to use once, before writing the first frame.
struct TrackTimeline {
    let clockRate: Int64
    private var unwrapper = WrapAroundUnwrapper()
    /// Unwrapped timestamp and arrival time (ns) of the first packet.
    private(set) var firstTimestamp: Int64?
    private(set) var firstArrival: Int64 = 0
    /// Latest sender report: sender NTP time in ns and the unwrapped RTP timestamp it pairs with.
    private(set) var senderReport: (ntpNanoseconds: Int64, timestamp: Int64)?

    init(clockRate: Int) {
        self.clockRate = Int64(max(clockRate, 1))
    }

    mutating func notePacket(timestamp: UInt32, arrivalNanoseconds: UInt64) {
        guard firstTimestamp == nil else { return }
        firstTimestamp = unwrapper.unwrap(UInt64(timestamp), bits: 32)
        firstArrival = Int64(clamping: arrivalNanoseconds)
    }

    /// Extends a frame's timestamp; frames come in order, so this follows wraps.
    mutating func unwrap(_ timestamp: UInt32) -> Int64 {
        unwrapper.unwrap(UInt64(timestamp), bits: 32)
    }

    mutating func receiveSenderReport(ntp: UInt64, rtpTimestamp: UInt32) {
        let seconds = Int64(ntp >> 32)
        let fraction = Int64(ntp & 0xFFFF_FFFF)
        let nanoseconds = seconds * 1_000_000_000 + (fraction * 1_000_000_000) >> 32
        senderReport = (nanoseconds, unwrapper.extend(UInt64(rtpTimestamp), bits: 32))
    }

    /// When the frame with unwrapped timestamp `timestamp` happened, on the arrival clock.
    func arrivalNanoseconds(of timestamp: Int64) -> Int64 {
        firstArrival + nanoseconds(ticks: timestamp - (firstTimestamp ?? timestamp))
    }

    /// When it happened on the sender's NTP clock, if a sender report has arrived.
    func senderNanoseconds(of timestamp: Int64) -> Int64? {
        senderReport.map { $0.ntpNanoseconds + nanoseconds(ticks: timestamp - $0.timestamp) }
    }

    func nanoseconds(ticks: Int64) -> Int64 {
        // Split so that long recordings at 90 kHz cannot overflow the multiplication.
        (ticks / clockRate) * 1_000_000_000 + (ticks % clockRate) * 1_000_000_000 / clockRate
    }

    func ticks(nanoseconds: Int64) -> Int64 {
        (nanoseconds / 1_000_000_000) * clockRate + (nanoseconds % 1_000_000_000) * clockRate / 1_000_000_000
    }
}
