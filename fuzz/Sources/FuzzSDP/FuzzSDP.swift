import FuzzSupport
import Media

/// An offer or answer from a client (`/rtc` signalling, WHIP/WHEP bodies): whatever parses must
/// serialize, and what we serialize must parse again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSDP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: input(data, size), as: UTF8.self)
    guard let parsed = try? SessionDescription(parsing: text) else { return 0 }
    for media in parsed.mediaSections {
        consume(parsed.iceCredentials(for: media))
        consume(parsed.fingerprints(for: media))
        consume(parsed.mediaSection(mid: media.mid ?? ""))
    }
    let once = parsed.sdp
    guard let again = try? SessionDescription(parsing: once) else {
        fatalError("our own SDP does not parse:\n\(once)")
    }
    consume(again.sdp)
    return 0
}
