import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// taskd-ws needs no more than it uses: it serves from a state directory it can only read (as `ReadOnlyPaths=` shows
/// it under systemd), holds every file open read-only, and its socket is for its owner and group only.
@Suite(.timeLimit(.minutes(1)))
struct WebSocketPrivilegeTests {
    @Test func theSocketIsForOwnerAndGroupOnlyAndStateFilesAreOpenReadOnly() async throws {
        try await TaskdHarness.with(WebSocketTests.options()) { harness in
            var info = stat()
            #expect(stat(harness.webSocketSocket.path, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o777 == 0o660, "mode \(String(info.st_mode & 0o777, radix: 8))")

            // Even where it could write, it opens nothing in the state directory for writing.
            let key = try harness.issueKey()
            let client = try await harness.openWebSocket(key: key)
            try harness.rotateChangeLog()
            _ = try await harness.createTask(key: key, name: "after a rotation", type: "gx.heavy")
            try await harness.waitUntilLastFrameMatchesGET(client, key: key)
            try Self.expectEveryStateFileReadOnly(harness)
            await client.close()
        }
    }

    @Test func itStreamsFromAReadOnlyStateDirectoryWithEveryFileOpenReadOnly() async throws {
        // A read-only bind mount needs root; where the tests do not run as root, the unit's ReadOnlyPaths= and the
        // file checks below are what remain.
        guard geteuid() == 0 else { return }
        var options = WebSocketTests.options()
        options.webSocketStateIsReadOnly = true
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            _ = try await harness.createTask(key: key, name: "before", type: "gx.heavy")
            let client = try await harness.openWebSocket(key: key)
            try await harness.waitUntilLastFrameMatchesGET(client, key: key)
            try harness.rotateChangeLog()
            _ = try await harness.createTask(key: key, name: "after a rotation", type: "gx.heavy")
            try await harness.waitUntilLastFrameMatchesGET(client, key: key)

            try Self.expectEveryStateFileReadOnly(harness)
            // It never tried to write. (When it starts before the responder has created the change log, it cannot
            // create it either: it says so, and opens it once it appears.)
            let log = harness.webSocket?.logTail() ?? ""
            #expect(!log.contains("cannot be written"), "\(log)")
            if log.contains("The change log cannot be opened yet") {
                #expect(log.contains("Change log opened"), "\(log)")
            }
            await client.close()
        }
    }

    /// taskd-ws holds the change log open, and every file it holds in the state directory is open read-only.
    static func expectEveryStateFileReadOnly(_ harness: TaskdHarness) throws {
        let pid = try #require(harness.webSocket?.processID)
        // Its files in the state directory (standard output and error go to the harness's log file).
        let files = try openFiles(of: pid).filter { $0.path.hasPrefix(harness.prefix.path + "/state") }
        #expect(files.contains { $0.path.hasSuffix("/changes.log") }, "\(files)")
        for file in files {
            #expect(
                file.flags & O_ACCMODE == O_RDONLY, "\(file.path) is open with flags 0\(String(file.flags, radix: 8))")
        }
    }

    /// The regular files a process holds open, with their open flags (from /proc/PID/fdinfo).
    static func openFiles(of pid: Int32) throws -> [(path: String, flags: Int32)] {
        let directory = "/proc/\(pid)/fd"
        var files: [(path: String, flags: Int32)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + name),
                target.hasPrefix("/"), !target.hasPrefix("/dev/")
            else { continue }
            var info = stat()
            guard stat(target, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            let fdinfo = try String(contentsOfFile: "/proc/\(pid)/fdinfo/\(name)", encoding: .utf8)
            guard let line = fdinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags:") }),
                let flags = Int32(line.dropFirst("flags:".count).trimmingCharacters(in: .whitespaces), radix: 8)
            else { throw HarnessError("no flags in /proc/\(pid)/fdinfo/\(name)") }
            files.append((target, flags))
        }
        return files
    }
}
