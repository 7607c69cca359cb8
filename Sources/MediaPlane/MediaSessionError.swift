public enum MediaSessionError: Error, CustomStringConvertible {
    case publisherGone(String)
    case gatheringTimedOut

    public var description: String {
        switch self {
        case .publisherGone(let identity): "participant \(identity) publishes nothing here"
        case .gatheringTimedOut: "ICE candidate gathering timed out"
        }
    }
}
