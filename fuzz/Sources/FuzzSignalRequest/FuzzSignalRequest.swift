import FuzzSupport
import LiveKitProto
import SwiftProtobuf

/// A WebSocket frame on `/rtc`: binary frames are protobuf, text frames protojson (both decoded
/// with the server's `WireDecoding` options). The first byte picks the frame kind. Whatever
/// decodes is encoded back both ways, as the server echoes parts of requests to other clients.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSignalRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let buffer = input(data, size)
    guard let kind = buffer.first else { return 0 }
    let body = Array(buffer.dropFirst())
    let request: Livekit_SignalRequest?
    if kind & 1 == 0 {
        request = try? Livekit_SignalRequest(serializedBytes: body, options: WireDecoding.binary)
    } else {
        request = try? Livekit_SignalRequest(jsonString: String(decoding: body, as: UTF8.self), options: WireDecoding.json)
    }
    guard let request else { return 0 }
    consume(try? request.serializedBytes() as [UInt8])
    consume(try? request.jsonString())
    if case .offer(let offer)? = request.message { consume(offer.sdp.count) }
    return 0
}
