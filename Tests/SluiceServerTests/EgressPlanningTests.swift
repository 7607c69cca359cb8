import Egress
import LiveKitProto
import Testing
@testable import SluiceServer

/// Where an egress writes and in which container: decided before anything is opened.
@Suite struct EgressPlanningTests {
    let root = "/srv/rec"

    @Test func relativePathsLandUnderTheRecordingsDirectory() throws {
        #expect(try EgressOutputPath.resolve("a/b.mp4", under: root, defaultName: "x") == "/srv/rec/a/b.mp4")
        #expect(try EgressOutputPath.resolve("./a/../b.webm", under: root, defaultName: "x") == "/srv/rec/b.webm")
        #expect(try EgressOutputPath.resolve("", under: root, defaultName: "room-1") == "/srv/rec/room-1")
        #expect(try EgressOutputPath.resolve("day/", under: root + "/", defaultName: "room-1") == "/srv/rec/day/room-1")
        #expect(try EgressOutputPath.resolve("/srv/rec/x/y.ogg", under: root, defaultName: "n") == "/srv/rec/x/y.ogg")
    }

    @Test func pathsEscapingTheRecordingsDirectoryAreRefused() {
        for bad in ["../x.mp4", "a/../../x.mp4", "/etc/passwd", "/srv/rec/../x.mp4", "/srv/recordings/x.mp4", "/srv/rec"] {
            #expect(throws: EgressOutputPath.Failure.self, "\(bad)") {
                try EgressOutputPath.resolve(bad, under: root, defaultName: "n")
            }
        }
        #expect(throws: EgressOutputPath.Failure.notAFile(".")) { try EgressOutputPath.resolve(".", under: root, defaultName: "") }
    }

    @Test func containerFollowsCodecsWhenNothingIsNamed() throws {
        let vp8 = try EgressContainerChoice.choose(fileType: nil, path: "/r/t", codecs: [.vp8])
        #expect(vp8.container == .webm && vp8.path("/r/t") == "/r/t.webm")
        #expect(try EgressContainerChoice.choose(fileType: nil, path: "/r/t", codecs: [.h264]).container == .mp4)
        #expect(try EgressContainerChoice.choose(fileType: nil, path: "/r/t", codecs: [.opus]).container == .ogg)
        let participant = try EgressContainerChoice.choose(fileType: .defaultFiletype, path: "/r/p", codecs: [.vp8, .opus])
        #expect(participant == EgressContainerChoice(container: .webm, included: [0, 1]))
        #expect(try EgressContainerChoice.choose(fileType: .defaultFiletype, path: "/r/p.mkv", codecs: [.vp8, .opus]).container == .mkv)
    }

    @Test func mp4IsHonouredOnlyWhenNoTranscodingIsNeeded() throws {
        let h264 = try EgressContainerChoice.choose(fileType: .mp4, path: "/r/p", codecs: [.h264, .opus])
        #expect(h264.container == .mp4 && h264.included == [0, 1] && h264.path("/r/p") == "/r/p.mp4")
        #expect(throws: EgressContainerChoice.Failure.codecNotAllowed(codec: .vp8, container: .mp4)) {
            try EgressContainerChoice.choose(fileType: .mp4, path: "/r/p", codecs: [.vp8, .opus])
        }
        // An .mp4 name asks for MP4 just as file_type does.
        #expect(throws: EgressContainerChoice.Failure.codecNotAllowed(codec: .vp8, container: .mp4)) {
            try EgressContainerChoice.choose(fileType: .defaultFiletype, path: "/r/p.mp4", codecs: [.vp8])
        }
        #expect(throws: EgressContainerChoice.Failure.conflictingExtension(fileType: "MP4", path: "/r/p.webm")) {
            try EgressContainerChoice.choose(fileType: .mp4, path: "/r/p.webm", codecs: [.vp8])
        }
    }

    @Test func oggKeepsAudioOnlyAndMp3IsUnsupported() throws {
        let ogg = try EgressContainerChoice.choose(fileType: .ogg, path: "/r/p", codecs: [.vp8, .opus])
        #expect(ogg == EgressContainerChoice(container: .ogg, included: [1]))
        #expect(throws: EgressContainerChoice.Failure.self) {
            try EgressContainerChoice.choose(fileType: .ogg, path: "/r/p", codecs: [.vp8])
        }
        #expect(throws: EgressContainerChoice.Failure.unsupportedFileType("MP3")) {
            try EgressContainerChoice.choose(fileType: .mp3, path: "/r/p", codecs: [.opus])
        }
    }
}
