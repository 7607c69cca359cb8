// swift-tools-version:6.1
// Sluice fuzz targets (issue #20): one libFuzzer executable per parser that takes bytes from the
// network or from API clients. A package of its own, like bench/, so the root package's build
// never compiles them; it uses Sluice's layers through the root package's library products.
//
//   fuzz/run.sh [seconds-per-target]      builds (release, -sanitize=fuzzer,address) and runs each
//
// Each target's only source file defines `LLVMFuzzerTestOneInput` and no `main` (libFuzzer
// supplies it): built with -parse-as-library.
import PackageDescription

let fuzzer: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

func target(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies, swiftSettings: fuzzer)
}

let media: Target.Dependency = .product(name: "SluiceMedia", package: "sluice")
let egress: Target.Dependency = .product(name: "SluiceEgress", package: "sluice")
let proto: [Target.Dependency] = [.product(name: "SluiceLiveKitProto", package: "sluice"),
                                  .product(name: "SwiftProtobuf", package: "swift-protobuf")]

let package = Package(
    name: "sluice-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "sluice", path: ".."),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
    ],
    targets: [
        .target(name: "FuzzSupport", dependencies: [media]),
        .target(name: "FuzzDepacketizing", dependencies: ["FuzzSupport", media, egress]),
        target("FuzzRTP", [media]),
        target("FuzzRTCP", [media]),
        target("FuzzSDP", [media]),
        target("FuzzVP8", ["FuzzDepacketizing", egress]),
        target("FuzzH264", ["FuzzDepacketizing", egress]),
        target("FuzzOpus", ["FuzzDepacketizing", egress]),
        target("FuzzSignalRequest", proto),
        target("FuzzTwirp", proto + [egress]),
    ]
)
