import Foundation
import LiveKitProto
import SwiftProtobuf

/// The two bodies Twirp carries: binary protobuf (LiveKit's server SDKs) and protojson.
enum TwirpEncoding: Sendable {
    case protobuf
    case json

    init(contentType: String?) throws(TwirpError) {
        let mediaType = (contentType ?? "").split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        switch mediaType {
        case "application/protobuf", "application/x-protobuf": self = .protobuf
        case "application/json": self = .json
        default:
            throw TwirpError(.badRoute, "unexpected Content-Type \"\(contentType ?? "")\": use application/protobuf or application/json")
        }
    }

    var contentType: String {
        switch self {
        case .protobuf: return "application/protobuf"
        case .json: return "application/json"
        }
    }

    func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from bytes: [UInt8]) throws(TwirpError) -> M {
        do {
            switch self {
            case .protobuf:
                return try M(serializedBytes: bytes, options: WireDecoding.binary)
            case .json:
                // An empty JSON body means an empty request, as in twirp-go.
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return M() }
                return try M(jsonUTF8Bytes: bytes, options: WireDecoding.json)
            }
        } catch {
            throw TwirpError(.malformed, "the request body could not be decoded as \(M.protoMessageName): \(error)")
        }
    }

    func encode(_ message: some SwiftProtobuf.Message) throws -> [UInt8] {
        switch self {
        case .protobuf:
            return try message.serializedBytes()
        case .json:
            // twirp-go also prints fields at their default values; swift-protobuf cannot, and
            // protojson readers treat a missing field as its default, so the meaning is the same.
            return try message.jsonUTF8Bytes()
        }
    }
}
