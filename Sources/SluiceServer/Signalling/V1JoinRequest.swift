import CZlib
import Foundation
import LiveKitProto

/// The `join_request` query parameter of `/rtc/v1`: base64 (URL-safe, or standard as older
/// clients sent it) of a `WrappedJoinRequest` whose `JoinRequest` may be gzip-compressed.
enum V1JoinRequest {
    struct DecodeError: Error, CustomStringConvertible {
        var description: String
    }

    /// Largest join request accepted after decompression (an SDP offer with many codecs is ~10 KB).
    static let maxSize = 1 << 20

    static func decode(_ parameter: String) throws(DecodeError) -> Livekit_JoinRequest {
        guard !parameter.isEmpty else { throw DecodeError(description: "join_request is empty") }
        var text = parameter.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        // A `+` of standard base64 arrives as a space when the client did not escape it.
        text = text.replacingOccurrences(of: " ", with: "+")
        while text.count % 4 != 0 { text += "=" }
        guard let bytes = Data(base64Encoded: text) else { throw DecodeError(description: "join_request is not base64") }
        let wrapped: Livekit_WrappedJoinRequest
        do { wrapped = try Livekit_WrappedJoinRequest(serializedBytes: bytes, options: WireDecoding.binary) } catch {
            throw DecodeError(description: "join_request is not a WrappedJoinRequest: \(error)")
        }
        var payload = wrapped.joinRequest
        switch wrapped.compression {
        case .none: break
        case .gzip: payload = try gunzip(payload)
        case .UNRECOGNIZED(let value): throw DecodeError(description: "join_request compression \(value) is unknown")
        }
        do { return try Livekit_JoinRequest(serializedBytes: payload, options: WireDecoding.binary) } catch {
            throw DecodeError(description: "join_request holds no JoinRequest: \(error)")
        }
    }

    /// Inflates a gzip stream (zlib with the gzip wrapper), refusing anything over `maxSize`.
    static func gunzip(_ input: Data) throws(DecodeError) -> Data {
        var stream = z_stream()
        // 15 window bits + 16: expect the gzip header.
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DecodeError(description: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 16_384)
        var source = [UInt8](input)
        var status: Int32 = Z_OK
        source.withUnsafeMutableBufferPointer { input in
            stream.next_in = input.baseAddress
            stream.avail_in = uInt(input.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    output.append(out.baseAddress!, count: out.count - Int(stream.avail_out))
                }
            } while status == Z_OK && output.count <= maxSize
        }
        guard status == Z_STREAM_END else {
            throw DecodeError(description: output.count > maxSize ? "join_request is larger than \(maxSize) bytes"
                                                                  : "join_request is not valid gzip (zlib status \(status))")
        }
        return output
    }
}
