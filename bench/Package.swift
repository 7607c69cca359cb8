// swift-tools-version:6.1
// Sluice benchmarks: a package of its own so the root package's build and tests never compile the
// benchmark framework. It uses Sluice's layers through the root package's library products.
//
//   swift package --package-path bench benchmark        (or bench/micro.sh)
import PackageDescription

let package = Package(
    name: "sluice-bench",
    platforms: [.macOS(.v15)],
    products: [
        // Preloaded into Janus by sluice-load so that Janus gathers a 127.0.0.1 candidate.
        .library(name: "JanusLoopback", type: .dynamic, targets: ["CJanusLoopback"]),
    ],
    dependencies: [
        .package(name: "sluice", path: ".."),
        // MallocInterposer counts mallocs without jemalloc (the framework's default on Swift 6.3).
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
    ],
    targets: [
        // sendmmsg(2), struct mmsghdr and sched_setaffinity(2) need _GNU_SOURCE, which Swift's Glibc
        // module does not set.
        .target(name: "CBenchUDP", path: "Sources/CBenchUDP"),

        // Micro-benchmarks: RTP parse/rewrite, SRTP, Forwarder, fan-out, and the machine's floor.
        .executableTarget(
            name: "Micro",
            dependencies: [
                "CBenchUDP",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SluiceMedia", package: "sluice"),
                .product(name: "SluiceSFU", package: "sluice"),
                .product(name: "SluiceWebRTC", package: "sluice"),
            ],
            path: "Benchmarks/Micro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    
        .target(name: "CJanusLoopback", path: "Sources/CJanusLoopback"),

        // Load tool and driver (issue #8 parts 3-4): one publisher + N subscribers over real WebRTC
        // against Sluice (LiveKit signalling) or Janus (videoroom, HTTP API), with a floor row.
        .executableTarget(
            name: "sluice-load",
            dependencies: [
                "CBenchUDP",
                .product(name: "SluiceMedia", package: "sluice"),
                .product(name: "SluiceWebRTC", package: "sluice"),
                .product(name: "SluiceLiveKitProto", package: "sluice"),
                .product(name: "SluiceAuth", package: "sluice"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Sources/Load"
        ),
    ]
)
