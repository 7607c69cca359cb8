import Foundation
import MediaPlane

extension MediaSessions.Settings {
    /// Media addresses and ports from the server config: `rtc.node_ip` if set, else the bind
    /// addresses (a wildcard bind means every interface); UDP ports (and with `rtc.ice_tcp`, TCP ports) from
    /// `rtc.port_range_*`.
    init(config: ServerConfig) {
        var addresses: [String]
        if !config.rtc.nodeIP.isEmpty {
            addresses = [config.rtc.nodeIP]
        } else {
            addresses = config.bindAddresses.filter { $0 != "0.0.0.0" && $0 != "::" && $0 != "*" }
            if addresses.count != config.bindAddresses.count { addresses = [] }
        }
        var range: ClosedRange<UInt16>?
        if let low = UInt16(exactly: config.rtc.portRangeStart), let high = UInt16(exactly: config.rtc.portRangeEnd),
           low > 0, low <= high {
            range = low...high
        }
        let workers = config.rtc.mediaWorkers > 0 ? config.rtc.mediaWorkers : ProcessInfo.processInfo.activeProcessorCount
        self.init(localAddresses: addresses, portRange: range, iceTCP: config.rtc.iceTCP,
                  workerCount: max(1, min(64, workers)), spreadRoomsAfter: config.rtc.spreadRoomsAfter)
    }
}
