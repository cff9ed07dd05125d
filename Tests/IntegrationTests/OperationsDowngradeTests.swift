import Foundation
import Testing

/// The package's `prerm` (debian/taskd.prerm), run as dpkg runs it, against a real state directory: a downgrade below
/// the version that introduced state format 2 is refused while the state holds format-2 workspaces, with a message
/// that says how to export first; anything else goes through.
@Suite(.timeLimit(.minutes(1)))
struct OperationsDowngradeTests {
    typealias StateDirectory = OperationsTaskCtlTests.StateDirectory

    /// Runs the prerm with `arguments`, the services' settings in `envFile`, and `extra` variables.
    static func prerm(
        _ arguments: [String], envFile: String, extra: [String: String] = [:]
    ) async throws -> OperationsCommand.Result {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TASKD_") }
        environment["TASKD_PRERM_ENV_FILE"] = envFile
        environment.merge(extra) { _, new in new }
        return try await OperationsCommand.run(
            "/bin/sh", [OperationsCommand.packageRoot + "/debian/taskd.prerm"] + arguments, environment: environment,
            timeout: .seconds(20))
    }

    @Test func aDowngradeBelowTheFormatsVersionIsRefusedWhileTheStateHoldsIt() async throws {
        let state = try StateDirectory()
        defer { state.remove() }
        let envFile = state.path + "/taskd.env"
        // As an operator writes it: quoted, after a commented default.
        try "#TASKD_STATE_DIR=/var/lib/taskd\nTASKD_SLOTS=6\nTASKD_STATE_DIR=\"\(state.path)\"\n"
            .write(toFile: envFile, atomically: true, encoding: .utf8)

        // An empty state directory (a fresh install): nothing to lose, the downgrade goes through.
        #expect(try await Self.prerm(["upgrade", "0.9.0"], envFile: envFile).status == 0)

        try state.createTasks(2, tenant: "acme", workspace: "w")
        #expect(FileManager.default.fileExists(atPath: state.path + "/workspaces/acme/w/journal.log"))
        let before = try FileManager.default.subpathsOfDirectory(atPath: state.path).sorted()

        let refused = try await Self.prerm(["upgrade", "0.9.0"], envFile: envFile)
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("refusing to downgrade to 0.9.0; nothing was changed"), "\(refused)")
        #expect(refused.stderr.contains("\(state.path) holds workspaces in state format 2"), "\(refused)")
        #expect(refused.stderr.contains("taskctl tenant export --live TENANT > TENANT.json"), "\(refused)")
        #expect(try FileManager.default.subpathsOfDirectory(atPath: state.path).sorted() == before)

        // Upgrades, reinstalls and downgrades that stay at or above the format's version are not the prerm's business;
        // the package's own version is one of them (a floor above it would refuse its own reinstall).
        let current = try await OperationsVersionTests.packageVersion()
        for version in ["1.0.0", "1.0.0+b1", "1.2.0", current] {
            let allowed = try await Self.prerm(["upgrade", version], envFile: envFile)
            #expect(allowed.status == 0, "upgrade \(version): \(allowed)")
        }
        #expect(try await Self.prerm(["remove"], envFile: envFile).status == 0)
        // The floor is a parameter (for tests): a later format's floor refuses a version this one would allow.
        let later = try await Self.prerm(
            ["upgrade", "1.5.0"], envFile: envFile, extra: ["TASKD_PRERM_FORMAT_SINCE": "2.0.0"])
        #expect(later.status == 1 && later.stderr.contains("taskd before\n  2.0.0 cannot read"), "\(later)")

        // With the state moved aside, as the message says, the downgrade goes through.
        let aside = state.path + ".format2"
        try FileManager.default.moveItem(atPath: state.path, toPath: aside)
        defer { try? FileManager.default.removeItem(atPath: aside) }
        try FileManager.default.createDirectory(atPath: state.path, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: aside + "/taskd.env", toPath: envFile)
        #expect(try await Self.prerm(["upgrade", "0.9.0"], envFile: envFile).status == 0)
    }

    @Test func theIncomingOlderPackageUpholdsANewerOnesRefusal() async throws {
        let envFile = "/nonexistent/taskd.env"
        // dpkg's fallback after the installed package's `prerm upgrade` failed: OLD-VERSION, then NEW-VERSION.
        let downgrade = try await Self.prerm(["failed-upgrade", "1.1.0", "1.0.0"], envFile: envFile)
        #expect(downgrade.status == 1 && downgrade.stderr.contains("refused the downgrade to 1.0.0"), "\(downgrade)")
        // An upgrade past an old package whose prerm failed for its own reasons is not held up.
        #expect(try await Self.prerm(["failed-upgrade", "0.9.0", "1.0.0"], envFile: envFile).status == 0)
        // Nor is the same version's reinstall.
        #expect(try await Self.prerm(["failed-upgrade", "1.0.0", "1.0.0"], envFile: envFile).status == 0)
    }
}
