import Testing
@testable import Media

/// Inputs the fuzz targets (fuzz/) found, kept as regression tests.
@Suite struct SDPFuzzRegressionTests {
    /// FuzzSDP, 2026-12-02: a garbled offer (an m= line with no port, session-level lines inside a
    /// media section, then a second offer appended) parsed, but what we wrote from it did not
    /// parse again.
    @Test func whatWeWriteFromAGarbledOfferParsesAgain() throws {
        let bytes: [UInt8] = [118, 61, 48, 13, 10, 151, 61, 45, 32, 52, 48, 48, 53, 50, 48, 55, 53, 49, 56, 32, 52, 48, 48, 53, 50, 48, 55, 53, 49, 56, 32, 73, 78, 32, 73, 80, 52, 32, 48, 46, 48, 46, 48, 46, 48, 13, 10, 115, 61, 45, 13, 10, 116, 61, 48, 32, 48, 13, 10, 97, 61, 103, 114, 111, 117, 112, 58, 66, 85, 78, 68, 76, 69, 32, 48, 32, 49, 33, 50, 13, 10, 97, 61, 109, 115, 105, 100, 45, 115, 101, 109, 97, 110, 116, 105, 99, 58, 87, 77, 83, 32, 42, 13, 10, 109, 61, 97, 117, 100, 105, 111, 32, 118, 61, 48, 13, 10, 111, 61, 45, 32, 52, 48, 48, 53, 50, 48, 55, 53, 49, 56, 32, 52, 48, 48, 53, 50, 48, 55, 53, 49, 56, 32, 73, 79, 32, 73, 80, 52, 32, 48, 46, 48, 46, 48, 46, 48, 13, 10, 115, 61, 45, 13, 10, 116, 61, 48, 32, 48, 13, 10, 97, 61, 103, 114, 111, 117, 112, 58, 51, 66, 85, 78, 68, 76, 69, 32, 48, 32, 49, 32, 50, 13, 10, 97, 61, 109, 115, 105, 100, 45, 115, 101, 109, 97, 110, 116, 105, 99, 58, 87, 77, 83, 32, 42, 13, 10, 109, 61, 97, 117, 100, 105, 111, 32, 51, 53, 48, 48, 51, 32, 85, 68, 80, 47, 84, 76, 83, 47, 82, 84, 80, 47, 83, 65, 86, 53, 48, 48, 80, 70, 32, 57, 54, 32, 57, 32, 48, 32, 56, 13, 10, 99, 61, 73, 78, 32, 73, 80, 52, 32, 49, 57, 50, 46, 48, 46, 50, 46, 50, 13, 10, 97, 61, 115, 101, 110, 100, 111, 110, 108, 121, 13, 10, 97, 61, 101, 120, 116, 109, 97, 112, 58, 49, 32, 117, 114, 110, 58, 105, 101, 116, 102, 58, 112, 97, 114, 97, 109, 115, 58, 114, 116, 112, 45, 104, 100, 114, 101, 120, 116, 58, 115, 100, 101, 115, 58, 109, 105, 100, 13, 10, 97, 61, 101, 120, 116, 51]
        let text = String(decoding: bytes, as: UTF8.self)
        // Its session-level lines and first m= line come before the only o= line that parses:
        // refused now, with the line named.
        #expect(throws: SDPParseError.self) { try SessionDescription(parsing: text) }
        guard let parsed = try? SessionDescription(parsing: text) else { return }
        let written = parsed.sdp
        do {
            let again = try SessionDescription(parsing: written)
            #expect(again.sdp == written, "writing is stable")
        } catch {
            Issue.record("our own SDP does not parse (\(error)):\n\(written)")
        }
    }
}
