import Foundation

/// Where the checkout and the built binaries are, found from this file's compile-time path and the running test
/// binary, so nothing machine-specific is written down.
enum PackagePaths {
    /// The package root: this file is `<root>/Tests/IntegrationTests/Support/PackagePaths.swift`.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var nginxDirectory: URL { root.appendingPathComponent("nginx") }
    static var openAPIDirectory: URL { root.appendingPathComponent("openapi") }
    static var webDirectory: URL { root.appendingPathComponent("web") }

    /// The directory holding the test bundle, where `swift build --build-tests` also puts the executables
    /// (`taskd-fcgi`, `taskd-ws`, `taskctl`). `TASKD_BIN_DIR` overrides it.
    static func binaryDirectory() throws -> URL {
        if let override = ProcessInfo.processInfo.environment["TASKD_BIN_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        var candidates: [URL] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: executable).deletingLastPathComponent())
        }
        candidates.append(Bundle.main.bundleURL)
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for candidate in candidates {
            var directory = candidate
            // The test binary may sit inside `<bin>/taskdPackageTests.xctest/...`: walk up a few levels.
            for _ in 0..<4 {
                if FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("taskd-fcgi").path) {
                    return directory
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        throw HarnessError.missingBinary(
            "taskd-fcgi was not found next to the test binary (looked in \(candidates.map(\.path))); "
                + "run `swift build --build-tests` first (make test does).")
    }

    /// nginx from PATH or the usual sbin directories. Missing nginx is a failure of the test, never a skip.
    static func nginx() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin", "/sbin"]
        for directory in directories {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent("nginx")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw HarnessError.missingBinary("nginx is not installed; run scripts/install-deps.sh (make test does).")
    }
}

/// Failures of the harness itself, with what an engineer needs to fix them.
struct HarnessError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }

    static func missingBinary(_ message: String) -> HarnessError { HarnessError(message) }
}
