// swift-tools-version:6.1
import PackageDescription

// taskd is Linux-only: it is built on libfcgi, systemd socket activation, inotify and Glibc, and is hosted behind
// nginx on Linux servers. No Apple platform is declared, and the sources import Glibc without alternatives.
let package = Package(
    name: "taskd",
    products: [
        .executable(name: "taskd-fcgi", targets: ["TaskdFastCGI"]),
        .executable(name: "taskd-ws", targets: ["TaskdWebSocket"]),
        .executable(name: "taskctl", targets: ["TaskCtl"]),
        // Test helper for TaskStoreTests' multi-process tests; never installed.
        .executable(name: "taskd-store-probe", targets: ["TaskStoreProbe"]),
        // The client side of `make bench-ws`; never installed.
        .executable(name: "taskd-ws-bench", targets: ["TaskdWebSocketBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(
            name: "CFastCGI",
            pkgConfig: "fcgi",
            providers: [.apt(["libfcgi-dev"])]
        ),
        .target(name: "TaskCore"),
        .target(
            name: "TaskStore",
            dependencies: [
                "TaskCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "TaskStoreProbe",
            dependencies: ["TaskCore", "TaskStore", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TaskAPI",
            dependencies: [
                "TaskCore",
                "TaskStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "TaskdFastCGI",
            dependencies: [
                "CFastCGI",
                "TaskAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "TaskdWebSocket",
            dependencies: [
                "TaskCore",
                "TaskStore",
                "TaskAPI",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "TaskdWebSocketBench",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "TaskCtl",
            dependencies: [
                "TaskCore",
                "TaskStore",
                "TaskAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "TaskCoreTests", dependencies: ["TaskCore"]),
        .testTarget(
            name: "TaskStoreTests",
            dependencies: ["TaskStore", "TaskCore", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "TaskdFastCGITests", dependencies: ["TaskdFastCGI", "TaskAPI", "TaskCore"]),
        .testTarget(
            name: "TaskAPITests",
            dependencies: [
                "TaskAPI", "TaskStore", "TaskCore",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "TaskdWebSocketTests",
            dependencies: [
                "TaskdWebSocket", "TaskCore", "TaskStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "TaskCore",
                "TaskStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
    ]
)

// libFuzzer targets, one per decoder of stored files, and their seed corpora in Tests/FuzzCorpus (scripts/fuzz.sh,
// `make fuzz`). A normal build makes each an empty program, so that they keep compiling; built with
// `swift build --sanitize=fuzzer --product taskd-fuzz-<name>` they are libFuzzer binaries (SwiftPM then compiles
// them as libraries and links libFuzzer's `main`, which calls their `LLVMFuzzerTestOneInput`).
let fuzzTargets: [(name: String, target: String, dependencies: [Target.Dependency])] = [
    ("journal-line", "FuzzJournalLine", ["TaskCore"]),
    ("checkpoint", "FuzzCheckpoint", ["TaskCore"]),
    ("workspace", "FuzzWorkspace", ["TaskCore", "TaskStore", .product(name: "Logging", package: "swift-log")]),
    ("change-record", "FuzzChangeRecord", ["TaskCore", "TaskStore"]),
    ("keys-file", "FuzzKeysFile", ["TaskStore"]),
    ("tenant-export", "FuzzTenantExport", ["TaskCore", "TaskStore"]),
]
package.targets.append(
    .target(name: "TaskdFuzzSupport", dependencies: ["TaskCore"], path: "Tests/Fuzz/TaskdFuzzSupport"))
for fuzzer in fuzzTargets {
    package.products.append(.executable(name: "taskd-fuzz-" + fuzzer.name, targets: [fuzzer.target]))
    package.targets.append(
        .executableTarget(
            name: fuzzer.target, dependencies: fuzzer.dependencies + ["TaskdFuzzSupport"],
            path: "Tests/Fuzz/" + fuzzer.target))
}
