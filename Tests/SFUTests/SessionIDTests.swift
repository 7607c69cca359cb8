import Testing
@testable import SFU

@Suite struct SessionIDTests {
    @Test func prefixesAndAlphabet() {
        for (id, prefix) in [(SessionID.room(), "RM_"), (SessionID.participant(), "PA_"),
                             (SessionID.track(), "TR_"), (SessionID.egress(), "EG_")] {
            #expect(id.hasPrefix(prefix))
            #expect(id.count == prefix.count + 12)
            #expect(id.dropFirst(prefix.count).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        }
    }

    @Test func idsDoNotRepeat() {
        let ids = Set((0..<10_000).map { _ in SessionID.participant() })
        #expect(ids.count == 10_000)
    }
}
