import SwiftProtobuf

/// How LiveKit's messages are decoded from clients, in one place so the server (Twirp bodies,
/// JSON signalling) and the fuzz targets in fuzz/ decode with exactly the same options.
public enum WireDecoding {
    /// protojson from clients: unknown fields are discarded, as twirp-go and LiveKit's server
    /// do, so newer clients keep working.
    public static var json: JSONDecodingOptions {
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        return options
    }

    /// Binary protobuf: swift-protobuf's defaults (unknown fields kept, nesting limited to 100).
    public static var binary: BinaryDecodingOptions { BinaryDecodingOptions() }
}
