import Egress
import Foundation
import FuzzSupport
import LiveKitProto
import SwiftProtobuf

/// A Twirp request body for one of the RoomService and Egress methods the server decodes,
/// protobuf or JSON, with the server's options and its empty-JSON-body rule (TwirpEncoding).
/// The first byte picks the message (low 7 bits) and the encoding (top bit). Egress requests'
/// file paths also go through the filename template expansion the server applies.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTwirp(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let buffer = input(data, size)
    guard let selector = buffer.first else { return 0 }
    let body = Array(buffer.dropFirst())
    let json = selector & 0x80 != 0
    let types = requestTypes
    let type = types[Int(selector & 0x7F) % types.count]
    guard let message = decode(type, body, json: json) else { return 0 }
    consume(try? message.serializedBytes() as [UInt8])
    consume(try? message.jsonUTF8Bytes() as [UInt8])
    var template = FilenameTemplate()
    template.roomName = "room/../x"
    template.publisherIdentity = "id"
    switch message {
    case let request as Livekit_RoomCompositeEgressRequest:
        for output in request.fileOutputs { consume(template.expand(output.filepath)) }
        if case .file(let file)? = request.output { consume(template.expand(file.filepath)) }
        consume(request.layout.count)
    case let request as Livekit_TrackEgressRequest:
        if case .file(let file)? = request.output { consume(template.expand(file.filepath)) }
    case let request as Livekit_ParticipantEgressRequest:
        for output in request.fileOutputs { consume(template.expand(output.filepath)) }
    case let request as Livekit_TrackCompositeEgressRequest:
        for output in request.fileOutputs { consume(template.expand(output.filepath)) }
    default:
        break
    }
    return 0
}

private let requestTypes: [any SwiftProtobuf.Message.Type] = [
    Livekit_CreateRoomRequest.self, Livekit_ListRoomsRequest.self, Livekit_DeleteRoomRequest.self,
    Livekit_ListParticipantsRequest.self, Livekit_RoomParticipantIdentity.self, Livekit_MuteRoomTrackRequest.self,
    Livekit_UpdateParticipantRequest.self, Livekit_UpdateSubscriptionsRequest.self, Livekit_SendDataRequest.self,
    Livekit_UpdateRoomMetadataRequest.self, Livekit_RoomCompositeEgressRequest.self, Livekit_TrackEgressRequest.self,
    Livekit_ParticipantEgressRequest.self, Livekit_TrackCompositeEgressRequest.self, Livekit_WebEgressRequest.self,
    Livekit_UpdateLayoutRequest.self, Livekit_UpdateStreamRequest.self, Livekit_ListEgressRequest.self,
    Livekit_StopEgressRequest.self, Livekit_StartEgressRequest.self,
]

/// As `TwirpEncoding.decode` in the server.
private func decode(_ type: any SwiftProtobuf.Message.Type, _ bytes: [UInt8], json: Bool) -> (any SwiftProtobuf.Message)? {
    if json {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return type.init() }
        return try? type.init(jsonUTF8Bytes: bytes, extensions: nil, options: WireDecoding.json)
    }
    return try? type.init(serializedBytes: bytes, extensions: nil, partial: false, options: WireDecoding.binary)
}
