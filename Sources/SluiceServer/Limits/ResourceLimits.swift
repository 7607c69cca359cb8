#if canImport(Glibc)
import MediaPlane
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Signal
import WebRTC

/// The process limits a stampede runs into, checked before they are hit: open files (every UDP
/// port and WebSocket is one) and the UDP port range. A join that would exceed them is refused
/// with a reason; the participants already in keep being served.
struct ResourceLimits: Sendable {
    /// Media UDP ports, nil when the OS picks (no range configured).
    let portRange: ClosedRange<UInt16>?
    /// Local addresses ICE binds on (a port each per peer connection); 0 when every interface.
    var addresses: Int = 0
    /// The open media sessions, to count the ports they hold.
    var media: MediaSessions?
    /// Descriptors kept free for the store, logs, recordings and the listening sockets.
    static let reservedFiles = 64
    /// Open files one more participant needs: its WebSocket and two peer connections' sockets
    /// (one per local address; a few spare for a host with several).
    static let filesPerParticipant = 8

    /// The open-file limit as (soft, hard); nil if the OS does not say.
    static func openFileLimit() -> (soft: UInt64, hard: UInt64)? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return (UInt64(limit.rlim_cur), UInt64(limit.rlim_max))
    }

    /// Raises the open-file soft limit to the hard limit, as servers that hold many sockets do
    /// (the default soft limit of 1024 is about 120 participants). Returns (before, after, hard).
    @discardableResult
    static func raiseOpenFileLimit() -> (before: UInt64, after: UInt64, hard: UInt64)? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let before = UInt64(limit.rlim_cur)
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return (before, UInt64(limit.rlim_cur), UInt64(limit.rlim_max))
    }

    /// Descriptors open now (Linux: entries of /proc/self/fd); nil where that cannot be read.
    static func openFileCount() -> Int? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        var count = -1  // the directory stream's own descriptor
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in raw.first ?? 0 }
            if name != UInt8(ascii: ".") { count += 1 }
        }
        return max(0, count)
    }

    /// Why one more participant cannot be admitted now, or nil when it can. The port count is an
    /// estimate (two per media session and address; another process may hold some of the range),
    /// so a join that passes here can still find no port, and is then told so (`mediaRefusal`).
    func admissionRefusal() async -> JoinError? {
        if let limit = Self.openFileLimit(),
           !OpenFileGauge.shared.admitOne(limit: limit.soft, reserve: Self.reservedFiles) {
            return .unavailable("no file descriptors left")
        }
        if let portRange, addresses > 0, let media,
           let capacity = Self.participantCapacity(portRange: portRange, addresses: addresses),
           await media.mediaSessionCount >= capacity {
            return .unavailable("no UDP port free in \(portRange.lowerBound)-\(portRange.upperBound)")
        }
        return nil
    }

    /// What a client is told when its media could not be set up. Running out of descriptors or
    /// ports is capacity (503-like, try later); anything else is an internal error. The error
    /// itself goes to the log only.
    func mediaRefusal(for error: any Error) -> JoinError {
        if let limit = Self.openFileLimit(), let open = Self.openFileCount(),
           UInt64(open + Self.filesPerParticipant) >= limit.soft {
            return .unavailable("no file descriptors left")
        }
        // libnice reports a port range with no free port as a failed gathering (no candidate).
        let iceError = (error as? ICEError) ?? {
            if case .ice(let inner)? = error as? PeerTransportError { return inner }
            return nil
        }()
        switch error {
        case _ where iceError == .gatheringFailed || iceError == .agentCreation || iceError == .streamCreation:
            if let portRange {
                return .unavailable("no UDP port free in \(portRange.lowerBound)-\(portRange.upperBound)")
            }
            return .unavailable("no UDP port free")
        case MediaSessionError.gatheringTimedOut:
            return .unavailable("media setup timed out")
        default:
            return .mediaSetup("\(error)")
        }
    }

    /// Participants the port range holds: each takes two peer connections, one port per local
    /// address each. Nil when the OS picks ports.
    static func participantCapacity(portRange: ClosedRange<UInt16>?, addresses: Int) -> Int? {
        guard let portRange else { return nil }
        return portRange.count / (2 * max(1, addresses))
    }
}
