// swift-tools-version:6.1
// Sluice: a self-hosted WebRTC SFU that speaks LiveKit's protocols.
// Layers (dependencies point down only; see shared/ARCHITECTURE.md):
//   sluice -> SluiceServer -> MediaPlane -> Signal/LiveKitProto -> Egress -> SFU -> WebRTC -> Media
//   Store, Auth; C shims at the bottom.
import PackageDescription

let package = Package(
    name: "sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        // For the separate benchmark package in bench/ (it depends on this one by path).
        .library(name: "SluiceMedia", targets: ["Media"]),
        .library(name: "SluiceSFU", targets: ["SFU"]),
        .library(name: "SluiceWebRTC", targets: ["WebRTC"]),
        // For bench/'s load tool, a LiveKit client: the signalling schema and token minting.
        .library(name: "SluiceLiveKitProto", targets: ["LiveKitProto"]),
        .library(name: "SluiceAuth", targets: ["Auth"]),
        // For fuzz/'s depacketizer targets (the recording path's RTP -> frame code).
        .library(name: "SluiceEgress", targets: ["Egress"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Operating: Prometheus metrics (its registry; the values are read at scrape time).
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // MARK: C libraries (system-library targets: module map + shim header)
        .systemLibrary(name: "CNice", pkgConfig: "nice", providers: [.apt(["libnice-dev"])]),
        .systemLibrary(name: "CSRTP", pkgConfig: "libsrtp2", providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "CUsrsctp", providers: [.apt(["libusrsctp-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev"])]),
        // Egress uploads to S3-compatible storage: curl signs (CURLOPT_AWS_SIGV4) and streams them.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // gunzip for the `/rtc/v1` join request.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // hiredis: the cluster's shared state and bus (the `redis:` block).
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // What Swift cannot call directly (GLib macros, varargs, callback trampolines).
        .target(name: "CShims", dependencies: ["CNice", "COpenSSL", "CUsrsctp", "CCurl"]),

        // MARK: Redis client (hiredis behind a thread of its own)
        .target(name: "Redis", dependencies: ["CHiredis"]),

        // MARK: Node-to-node media link of the edge relay (sealed datagrams + control channel)
        .target(name: "EdgeLink", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),

        // MARK: Pure Swift packet formats (RTP, RTCP, SDP, payload descriptors). No I/O.
        .target(name: "Media"),

        // MARK: Persistence (SQLite through GRDB)
        .target(name: "Store", dependencies: [
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: LiveKit wire schema (our .proto subset + generated Swift, committed)
        .target(name: "LiveKitProto",
                dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["protos"]),

        // MARK: Access tokens (LiveKit JWTs, HS256)
        .target(name: "Auth", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),

        // MARK: WebRTC transport (ICE, DTLS, SRTP, SCTP)
        .target(name: "WebRTC", dependencies: [
            "Media", "CShims", "CNice", "CSRTP", "COpenSSL", "CUsrsctp",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: SFU core (rooms, tracks, forwarding)
        .target(name: "SFU", dependencies: [
            "Media",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: Recording
        .target(name: "Egress", dependencies: [
            "SFU", "Media", "CFFmpeg",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: Edge relay: a room's tracks served to another node's room over an EdgeLink
        .target(name: "EdgeRelay", dependencies: ["EdgeLink", "SFU", "WebRTC", "Media"]),

        // MARK: LiveKit signalling and room management
        .target(name: "Signal", dependencies: [
            "SFU", "Store", "Auth", "LiveKitProto",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: Media plane: rooms' media on their workers, every door's participants in them
        .target(name: "MediaPlane", dependencies: [
            "SFU", "WebRTC", "Media", "Signal", "LiveKitProto", "EdgeRelay", "EdgeLink",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: HTTP/WebSocket/Twirp server
        .target(name: "SluiceServer", dependencies: [
            "MediaPlane", "Signal", "SFU", "Store", "Auth", "LiveKitProto", "WebRTC", "Egress", "CCurl", "CShims", "CZlib", "Redis",
            // Node to node: API calls forwarded to a room's node, signalling relayed to it.
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "WSClient", package: "swift-websocket"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            .product(name: "WSCore", package: "swift-websocket"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], resources: [
            // The demo web app's files, compiled in (PackageResources.*): no resource bundle to
            // lose when the binary is copied elsewhere.
            .embedInCode("WebApp/Pages/index.html"),
            .embedInCode("WebApp/Pages/broadcast.html"),
            .embedInCode("WebApp/Pages/watch.html"),
            .embedInCode("WebApp/Pages/app.css"),
            .embedInCode("WebApp/Pages/app.js"),
            // The operator's dashboard (/admin/dashboard).
            .embedInCode("Admin/dashboard.html"),
        ]),

        // MARK: Command line
        .executableTarget(name: "sluice", dependencies: [
            "SluiceServer", "Auth", "LiveKitProto",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            // The admin CLI sends and prints LiveKit's messages (Twirp with protobuf bodies).
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),

        // MARK: Tests, next to their layer
        .testTarget(name: "MediaTests", dependencies: ["Media"]),
        .testTarget(name: "StoreTests", dependencies: ["Store"]),
        .testTarget(name: "RedisTests", dependencies: ["Redis"]),
        .testTarget(name: "EdgeLinkTests", dependencies: ["EdgeLink"]),
        .testTarget(name: "EdgeRelayTests", dependencies: ["EdgeRelay", "EdgeLink", "SFU", "WebRTC", "Media"]),
        .testTarget(name: "AuthTests", dependencies: ["Auth"]),
        .testTarget(name: "SignalTests", dependencies: ["Signal", "Store", "Auth", "LiveKitProto"]),
        .testTarget(name: "SFUTests", dependencies: ["SFU", "Media"]),
        .testTarget(name: "EgressTests", dependencies: ["Egress", "Media"]),
        .testTarget(name: "LiveKitProtoTests", dependencies: ["LiveKitProto"]),
        .testTarget(name: "WebRTCTests", dependencies: ["WebRTC", "CNice", "CSRTP", "COpenSSL", "CUsrsctp", "CShims"]),
        .testTarget(name: "MediaPlaneTests", dependencies: [
            "MediaPlane", "SFU", "Signal", "WebRTC", "LiveKitProto",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "SluiceServerTests", dependencies: [
            "SluiceServer", "MediaPlane",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
    ]
)
