import EdgeLink
import Testing

/// The sealed datagrams: what one end seals the other opens, and nothing else does.
@Suite struct EdgeLinkSealingTests {
    let keys = EdgeLinkKeys(apiSecret: "secret-of-the-cluster", originNode: "node-a", edgeNode: "node-b", room: "sale")

    @Test func originSealsEdgeOpens() throws {
        let sealer = EdgeLinkSealer(key: keys.sending(asOrigin: true))
        let opener = EdgeLinkOpener(key: keys.receiving(asOrigin: false))
        let payload: [UInt8] = Array(0..<200).map { UInt8($0) }
        let datagram = try sealer.seal(.media, payload: payload)
        #expect(datagram.count == payload.count + EdgeLinkDatagram.overhead)
        // The payload does not travel in clear.
        #expect(Array(datagram[EdgeLinkDatagram.headerSize..<EdgeLinkDatagram.headerSize + 200]) != payload)
        let (kind, plain) = try opener.open(datagram)
        #expect(kind == .media)
        #expect(plain == payload)
    }

    @Test func replayedDatagramIsRefused() throws {
        let sealer = EdgeLinkSealer(key: keys.originToEdge)
        let opener = EdgeLinkOpener(key: keys.originToEdge)
        let first = try sealer.seal(.control, payload: [1, 2, 3])
        _ = try opener.open(first)
        #expect(throws: EdgeLinkOpener.OpenError.replayed(1)) { try opener.open(first) }
    }

    @Test func reorderedInsideWindowIsAcceptedOnce() throws {
        let sealer = EdgeLinkSealer(key: keys.originToEdge)
        let opener = EdgeLinkOpener(key: keys.originToEdge)
        let datagrams = try (0..<5).map { try sealer.seal(.media, payload: [UInt8]($0..<$0 + 20)) }
        for index in [0, 2, 4, 1, 3] { _ = try opener.open(datagrams[index]) }
        #expect(throws: EdgeLinkOpener.OpenError.replayed(2)) { try opener.open(datagrams[1]) }
    }

    @Test func tamperedDatagramIsRefused() throws {
        let sealer = EdgeLinkSealer(key: keys.originToEdge)
        let opener = EdgeLinkOpener(key: keys.originToEdge)
        var datagram = try sealer.seal(.media, payload: [UInt8](repeating: 7, count: 40))
        datagram[EdgeLinkDatagram.headerSize + 5] ^= 1
        #expect(throws: EdgeLinkOpener.OpenError.notAuthentic) { try opener.open(datagram) }
        // The header is authenticated too: turning media into control breaks the tag.
        var relabelled = try sealer.seal(.media, payload: [UInt8](repeating: 7, count: 40))
        relabelled[1] = EdgeLinkDatagram.Kind.control.rawValue
        #expect(throws: EdgeLinkOpener.OpenError.notAuthentic) { try opener.open(relabelled) }
    }

    @Test func otherLinksAndSecretsCannotOpen() throws {
        let payload: [UInt8] = [9, 9, 9, 9]
        let datagram = try EdgeLinkSealer(key: keys.originToEdge).seal(.media, payload: payload)
        let otherRoom = EdgeLinkKeys(apiSecret: "secret-of-the-cluster", originNode: "node-a", edgeNode: "node-b", room: "sale2")
        let otherEdge = EdgeLinkKeys(apiSecret: "secret-of-the-cluster", originNode: "node-a", edgeNode: "node-c", room: "sale")
        let otherSecret = EdgeLinkKeys(apiSecret: "a guess", originNode: "node-a", edgeNode: "node-b", room: "sale")
        for key in [otherRoom.originToEdge, otherEdge.originToEdge, otherSecret.originToEdge, keys.edgeToOrigin] {
            #expect(throws: EdgeLinkOpener.OpenError.notAuthentic) { try EdgeLinkOpener(key: key).open(datagram) }
        }
        // Lengths are in the derivation: shifting a character between parts changes the key.
        let shifted = EdgeLinkKeys(apiSecret: "secret-of-the-cluster", originNode: "node-an", edgeNode: "ode-b", room: "sale")
        #expect(throws: EdgeLinkOpener.OpenError.notAuthentic) { try EdgeLinkOpener(key: shifted.originToEdge).open(datagram) }
    }

    @Test func malformedInputGetsAReason() {
        let opener = EdgeLinkOpener(key: keys.originToEdge)
        #expect(throws: EdgeLinkOpener.OpenError.tooShort) { try opener.open([1, 1, 0]) }
        var wrongVersion = [UInt8](repeating: 0, count: 40); wrongVersion[0] = 7
        #expect(throws: EdgeLinkOpener.OpenError.badVersion(7)) { try opener.open(wrongVersion) }
        var wrongKind = [UInt8](repeating: 0, count: 40); wrongKind[0] = 1; wrongKind[1] = 9
        #expect(throws: EdgeLinkOpener.OpenError.unknownKind(9)) { try opener.open(wrongKind) }
    }

    @Test func replayWindowSlides() {
        var window = ReplayWindow()
        #expect(!window.accepts(0))
        window.record(100)
        #expect(window.accepts(99))
        #expect(window.accepts(37))
        #expect(!window.accepts(36))
        #expect(!window.accepts(100))
        window.record(300)
        #expect(!window.accepts(100))
        #expect(window.accepts(299))
    }
}
