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

    @Test func mp4IsHonouredAndVP8IsTranscodedForIt() throws {
        let h264 = try EgressContainerChoice.choose(fileType: .mp4, path: "/r/p", codecs: [.h264, .opus])
        #expect(h264.container == .mp4 && h264.included == [0, 1] && h264.path("/r/p") == "/r/p.mp4")
        let vp8 = try EgressContainerChoice.choose(fileType: .mp4, path: "/r/p", codecs: [.vp8, .opus])
        #expect(vp8 == EgressContainerChoice(container: .mp4, included: [0, 1], audioCodec: nil))
        #expect(RecordingContainer.mp4.output(for: .vp8) == .h264)
        // An .mp4 name asks for MP4 just as file_type does.
        #expect(try EgressContainerChoice.choose(fileType: .defaultFiletype, path: "/r/p.mp4", codecs: [.vp8]).container == .mp4)
        #expect(throws: EgressContainerChoice.Failure.conflictingExtension(fileType: "MP4", path: "/r/p.webm")) {
            try EgressContainerChoice.choose(fileType: .mp4, path: "/r/p.webm", codecs: [.vp8])
        }
        // Sluice does not encode VP8, so H.264 cannot go into WebM.
        #expect(throws: EgressContainerChoice.Failure.codecNotAllowed(codec: .h264, container: .webm)) {
            try EgressContainerChoice.choose(fileType: .defaultFiletype, path: "/r/p.webm", codecs: [.h264])
        }
    }

    @Test func audioCodecAskedForIsPassedOnWhereItFits() throws {
        let aac = try EgressContainerChoice.choose(fileType: .mp4, path: "/r/p", codecs: [.vp8, .opus], audioCodec: .aac)
        #expect(aac.audioCodec == .aac)
        #expect(try EgressContainerChoice.choose(fileType: .mp4, path: "/r/p", codecs: [.opus], audioCodec: .opus).audioCodec == .opus)
        #expect(throws: EgressContainerChoice.Failure.audioCodecNotAllowed("AAC", container: .ogg)) {
            try EgressContainerChoice.choose(fileType: .ogg, path: "/r/p", codecs: [.opus], audioCodec: .aac)
        }
        #expect(throws: EgressContainerChoice.Failure.audioCodecNotAllowed("AAC", container: .mp3)) {
            try EgressContainerChoice.choose(fileType: .mp3, path: "/r/p", codecs: [.opus], audioCodec: .aac)
        }
        // Video is not touched by an audio wish.
        #expect(try EgressContainerChoice.choose(fileType: .mp4, path: "/r/p", codecs: [.h264], audioCodec: .aac).included == [0])
    }

    @Test func oggAndMp3KeepAudioOnly() throws {
        let ogg = try EgressContainerChoice.choose(fileType: .ogg, path: "/r/p", codecs: [.vp8, .opus])
        #expect(ogg == EgressContainerChoice(container: .ogg, included: [1]))
        #expect(throws: EgressContainerChoice.Failure.self) {
            try EgressContainerChoice.choose(fileType: .ogg, path: "/r/p", codecs: [.vp8])
        }
        let mp3 = try EgressContainerChoice.choose(fileType: .mp3, path: "/r/p", codecs: [.vp8, .opus])
        #expect(mp3 == EgressContainerChoice(container: .mp3, included: [1]) && mp3.path("/r/p") == "/r/p.mp3")
        #expect(try EgressContainerChoice.choose(fileType: nil, path: "/r/mic.mp3", codecs: [.opus]).container == .mp3)
        #expect(throws: EgressContainerChoice.Failure.conflictingExtension(fileType: "MP3", path: "/r/p.mp4")) {
            try EgressContainerChoice.choose(fileType: .mp3, path: "/r/p.mp4", codecs: [.opus])
        }
        #expect(throws: EgressContainerChoice.Failure.self) {
            try EgressContainerChoice.choose(fileType: .mp3, path: "/r/p", codecs: [.h264])
        }
    }
}
