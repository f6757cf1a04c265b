// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Reprise",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "reprise", targets: ["reprise"]),
        .library(name: "RepriseCut", targets: ["RepriseCut"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
        // The console: HTTP server, templates, metrics. swift-configuration support is left out.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // FFmpeg 5.1 from Debian's -dev packages, through pkg-config.
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat libavcodec libavutil libswscale libswresample libavfilter",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev",
                              "libswscale-dev", "libswresample-dev", "libavfilter-dev"])]
        ),
        // What every engine shares: errors with codes, time specs, progress, atomic publishing.
        .target(name: "RepriseCore"),
        // Owned Swift wrappers over FFmpeg objects: demux, decode, encode, mux, scale, resample.
        .target(name: "RepriseMedia", dependencies: ["RepriseCore", "CFFmpeg"]),
        // Packet index, the closed-up timeline and its reader, probe and the frame-accurate cut engine.
        .target(name: "RepriseCut", dependencies: ["RepriseCore", "RepriseMedia", "CFFmpeg"]),
        // Output profiles (YAML): model, validation with file/line/field errors, override folders.
        .target(name: "RepriseProfiles", dependencies: [.product(name: "Yams", package: "Yams")]),
        // HLS: playlists (read and written), codec strings from parameter sets, segment keyframes. No I/O.
        .target(name: "RepriseHLS", dependencies: ["RepriseMedia"]),
        // Profiles rendered from one decode: geometry and filter chains, loudness, follow, encoders.
        .target(name: "RepriseTranscode", dependencies: ["RepriseCut", "RepriseMedia", "RepriseProfiles", "RepriseHLS", "CFFmpeg"]),
        // Highlights: signal files, per-second series, scoring, windows, timeline picture.
        .target(name: "RepriseHighlights", dependencies: ["RepriseCut", "RepriseMedia", "RepriseProfiles", "RepriseTranscode", "CFFmpeg"]),
        // Durable job store for the watch-folder daemon: SQLite (WAL) through GRDB.
        .target(name: "RepriseJobs", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // The job store on PostgreSQL, for many nodes on one queue: PostgresNIO, no ORM.
        .target(name: "RepriseJobsPostgres", dependencies: ["RepriseJobs",
                                                            .product(name: "PostgresNIO", package: "postgres-nio"),
                                                            .product(name: "Logging", package: "swift-log")]),
        // The watch-folder daemon: arrival detection, job plans, child-process runner, systemd notify.
        .target(name: "RepriseDaemon", dependencies: ["RepriseCore", "RepriseJobs", "RepriseProfiles", "RepriseMedia",
                                                      .product(name: "Logging", package: "swift-log"),
                                                      .product(name: "Metrics", package: "swift-metrics")]),
        // The review console: Hummingbird server started by the daemon (pages, JSON API, SSE,
        // frame previews, Prometheus metrics), bearer token and path roots.
        .target(name: "RepriseConsole", dependencies: ["RepriseCore", "RepriseJobs", "RepriseDaemon", "RepriseHighlights", "RepriseProfiles", "RepriseMedia", "RepriseCut", "CFFmpeg",
                                                       .product(name: "Hummingbird", package: "hummingbird"),
                                                       .product(name: "Mustache", package: "swift-mustache"),
                                                       .product(name: "Metrics", package: "swift-metrics"),
                                                       .product(name: "Prometheus", package: "swift-prometheus"),
                                                       .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                       .product(name: "Logging", package: "swift-log")]),
        .executableTarget(
            name: "reprise",
            dependencies: ["RepriseCore", "RepriseCut", "RepriseMedia", "CFFmpeg", "RepriseProfiles", "RepriseTranscode", "RepriseHighlights",
                           "RepriseDaemon", "RepriseJobs", "RepriseJobsPostgres", "RepriseConsole",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        .testTarget(name: "RepriseTests", dependencies: ["RepriseCore", "RepriseCut", "RepriseMedia", "RepriseProfiles", "RepriseTranscode", "RepriseHLS", "RepriseHighlights", "RepriseJobs", "RepriseJobsPostgres", "RepriseDaemon", "RepriseConsole", "reprise",
                                                        .product(name: "HummingbirdTesting", package: "hummingbird"),
                                                        .product(name: "PostgresNIO", package: "postgres-nio"),
                                                        .product(name: "Logging", package: "swift-log")]),
    ]
)
