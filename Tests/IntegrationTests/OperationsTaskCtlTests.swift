import Foundation
import Logging
import TaskCore
import TaskStore
import Testing

/// `taskctl` against a real state directory: keys, workspaces, the change log and `check`.
@Suite(.timeLimit(.minutes(1)))
struct OperationsTaskCtlTests {
    /// A temporary state directory and a way to run taskctl on it.
    struct StateDirectory {
        let path: String

        init() throws {
            path = try OperationsCommand.temporaryDirectory("ctl")
        }

        func remove() {
            try? FileManager.default.removeItem(atPath: path)
        }

        var environment: [String: String] {
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TASKD_") }
            environment["TASKD_STATE_DIR"] = path
            // Never the machine's own /etc/taskd/taskd.env.
            environment["TASKD_ENV_FILE"] = path + "/no-such-env-file"
            return environment
        }

        func taskctl(_ arguments: String..., environment extra: [String: String] = [:]) async throws
            -> OperationsCommand.Result
        {
            try await taskctl(arguments, environment: extra)
        }

        func taskctl(_ arguments: [String], environment extra: [String: String] = [:]) async throws
            -> OperationsCommand.Result
        {
            try await OperationsCommand.run(
                OperationsCommand.binDirectory + "/taskctl", arguments,
                environment: environment.merging(extra) { _, new in new }, timeout: .seconds(20))
        }

        func json(_ result: OperationsCommand.Result) throws -> [String: Any] {
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
            return try #require(object as? [String: Any], "\(result)")
        }

        /// Creates `count` tasks through the store, as the responder would.
        func createTasks(_ count: Int, tenant: String, workspace: String, timeScale: Double = 1) throws {
            let store = try WorkspaceStore(
                directory: path, maxWorkspacesPerTenant: 10,
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            let machine = TaskStateMachine(policy: try SchedulePolicy(slots: 6, timeScale: timeScale))
            let key = WorkspaceKey(
                tenant: try TenantID(parsing: tenant), workspace: try WorkspaceID(parsing: workspace))
            for index in 0..<count {
                let change = TaskChange.create(
                    name: try TaskName(parsing: "task \(index)"), type: .tiny, durationMilliseconds: 60_000,
                    at: OperationsClock.now())
                _ = try store.update(key) { state in
                    StoreUpdate(change: change, result: try machine.apply(change, to: &state))
                }
            }
        }
    }

    @Test func keyAddListRevoke() async throws {
        let state = try StateDirectory()
        defer { state.remove() }

        let added = try await state.taskctl("key", "add", "acme")
        #expect(added.status == 0, "\(added)")
        let key = added.lastLine
        #expect(key.hasPrefix("tk_") && key.count > 20, "\(added)")

        let addedJSON = try await state.taskctl("key", "add", "acme", "--json")
        #expect(addedJSON.status == 0, "\(addedJSON)")
        let second = try state.json(addedJSON)
        let secondKey = try #require(second["key"] as? String)
        let secondEntry = try #require(second["entry"] as? [String: Any])
        #expect(secondEntry["tenant"] as? String == "acme")

        // Only hashes are stored, in a file only its owner may read.
        let keysFile = state.path + "/keys.json"
        let stored = try String(contentsOfFile: keysFile, encoding: .utf8)
        #expect(!stored.contains(key) && !stored.contains(secondKey))
        let mode = try FileManager.default.attributesOfItem(atPath: keysFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let listed = try state.json(try await state.taskctl("key", "list", "--json"))
        let entries = try #require(listed["keys"] as? [[String: Any]])
        #expect(entries.count == 2)
        #expect(entries.allSatisfy { $0["tenant"] as? String == "acme" })
        let text = try await state.taskctl("key", "list")
        #expect(text.status == 0 && text.stdout.contains("acme"), "\(text)")

        let id = try #require(secondEntry["id"] as? String)
        let revoked = try await state.taskctl("key", "revoke", id)
        #expect(revoked.status == 0, "\(revoked)")
        let again = try await state.taskctl("key", "revoke", id)
        #expect(again.status == 1, "revoking twice: \(again)")
        #expect(!again.stderr.isEmpty)
        let remaining = try state.json(try await state.taskctl("key", "list", "--json"))
        #expect((remaining["keys"] as? [[String: Any]])?.count == 1)
    }

    @Test func usageAndSettingErrorsHaveTheirExitCodes() async throws {
        let state = try StateDirectory()
        defer { state.remove() }
        #expect(try await state.taskctl("key", "add", "Not A Tenant!").status == 64)
        #expect(try await state.taskctl("key", "frobnicate").status == 64)
        #expect(try await state.taskctl("workspace", "show", "acme", "bad/id").status == 64)
        let badSetting = try await state.taskctl("key", "list", environment: ["TASKD_SLOTS": "many"])
        #expect(badSetting.status == 78, "\(badSetting)")
        #expect(badSetting.stderr.contains("TASKD_SLOTS"))
        for command in [["key"], ["key", "add"], ["workspace", "show"], ["log", "compact"], ["check"]] {
            let help = try await state.taskctl(command + ["--help"])
            #expect(help.status == 0 && help.stdout.contains("USAGE"), "\(command): \(help)")
        }
    }

    /// Run by root (as after `sudo`), taskctl acts as the state directory's owner, so the service can read its files.
    @Test(.enabled(if: geteuid() == 0, "changing identity needs root"))
    func rootActsAsTheOwnerOfTheStateDirectory() async throws {
        let state = try StateDirectory()
        defer { state.remove() }
        let owner: uid_t = 65_534
        #expect(chown(state.path, owner, gid_t(owner)) == 0 && chmod(state.path, 0o700) == 0)
        let added = try await state.taskctl("key", "add", "acme")
        #expect(added.status == 0, "\(added)")
        let attributes = try FileManager.default.attributesOfItem(atPath: state.path + "/keys.json")
        #expect((attributes[.ownerAccountID] as? NSNumber)?.uint32Value == owner)
        #expect(attributes[.posixPermissions] as? Int == 0o600)
    }

    /// The servers' env file is read too; a variable set in taskctl's own environment wins over it.
    @Test func settingsComeFromTheEnvironmentFile() async throws {
        let state = try StateDirectory()
        defer { state.remove() }
        let other = try OperationsCommand.temporaryDirectory("ctl-env")
        defer { try? FileManager.default.removeItem(atPath: other) }
        let envFile = state.path + "/taskd.env"
        try "# comment\nTASKD_STATE_DIR=\"\(other)\"\nTASKD_SLOTS=3\nOTHER=ignored\n".write(
            toFile: envFile, atomically: true, encoding: .utf8)
        var environment = state.environment
        environment["TASKD_ENV_FILE"] = envFile
        environment["TASKD_STATE_DIR"] = nil
        let fromFile = try await OperationsCommand.run(
            OperationsCommand.binDirectory + "/taskctl", ["key", "add", "acme"], environment: environment)
        #expect(fromFile.status == 0, "\(fromFile)")
        #expect(FileManager.default.fileExists(atPath: other + "/keys.json"), "\(fromFile)")

        environment["TASKD_STATE_DIR"] = state.path
        let fromEnvironment = try await OperationsCommand.run(
            OperationsCommand.binDirectory + "/taskctl", ["key", "add", "beta"], environment: environment)
        #expect(fromEnvironment.status == 0, "\(fromEnvironment)")
        #expect(FileManager.default.fileExists(atPath: state.path + "/keys.json"))

        try "TASKD_SLOTS=many\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        let bad = try await OperationsCommand.run(
            OperationsCommand.binDirectory + "/taskctl", ["key", "list"], environment: environment)
        #expect(bad.status == 78 && bad.stderr.contains("TASKD_SLOTS"), "\(bad)")
    }

    @Test func workspaceListAndShow() async throws {
        let state = try StateDirectory()
        defer { state.remove() }
        try state.createTasks(3, tenant: "acme", workspace: "default")
        try state.createTasks(1, tenant: "beta", workspace: "other_one")

        let all = try state.json(try await state.taskctl("workspace", "list", "--json"))
        let rows = try #require(all["workspaces"] as? [[String: Any]])
        #expect(rows.count == 2)
        #expect(rows.contains { $0["tenant"] as? String == "acme" && $0["tasks"] as? Int == 3 })
        let acme = try state.json(try await state.taskctl("workspace", "list", "acme", "--json"))
        #expect((acme["workspaces"] as? [[String: Any]])?.count == 1)
        #expect(try await state.taskctl("workspace", "list", "nobody").status == 1)

        let shown = try await state.taskctl("workspace", "show", "acme", "default", "--json")
        #expect(shown.status == 0, "\(shown)")
        let tasks = try #require(try state.json(shown)["tasks"] as? [[String: Any]])
        #expect(tasks.compactMap { $0["id"] as? Int } == [1, 2, 3])
        // Six slots, one-minute tasks: all three started at once and are running now.
        #expect(tasks.allSatisfy { ["queued", "running"].contains($0["status"] as? String ?? "") }, "\(tasks)")
        let text = try await state.taskctl("workspace", "show", "acme", "default")
        #expect(text.status == 0 && text.stdout.contains("task 2"), "\(text)")
        #expect(try await state.taskctl("workspace", "show", "acme", "missing").status == 1)
    }

    @Test func checkPassesOnSoundStateAndNamesWhatIsBroken() async throws {
        let state = try StateDirectory()
        defer { state.remove() }
        chmod(state.path, 0o700)
        #expect(try await state.taskctl("key", "add", "acme").status == 0)
        try state.createTasks(4, tenant: "acme", workspace: "default")
        try state.createTasks(2, tenant: "acme", workspace: "second")

        let sound = try await state.taskctl("check", "--json")
        #expect(sound.status == 0, "\(sound)")
        let report = try state.json(sound)
        #expect(report["ok"] as? Bool == true)
        #expect(report["workspaces"] as? Int == 2 && report["tasks"] as? Int == 6, "\(report)")
        #expect(report["log_records"] as? Int == 6, "\(report)")

        // A damaged journal line with a good one after it: check names the file and says how to repair it; show
        // refuses the workspace as corrupt; nothing is rewritten.
        let store = try WorkspaceStore(
            directory: state.path, maxWorkspacesPerTenant: 10,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let journal = store.journalPath(
            WorkspaceKey(tenant: try TenantID(parsing: "acme"), workspace: try WorkspaceID(parsing: "second")))
        let original = try Data(contentsOf: URL(fileURLWithPath: journal))
        var damaged = [UInt8](original)
        let secondLine = damaged.firstIndex(of: UInt8(ascii: "\n"))! + 1
        damaged[secondLine + 40] ^= 0x01
        try Data(damaged).write(to: URL(fileURLWithPath: journal))
        let broken = try await state.taskctl("check")
        #expect(broken.status == 1, "\(broken)")
        #expect(broken.stdout.contains("acme/second") && broken.stdout.contains("journal.log"), "\(broken)")
        #expect(broken.stdout.contains("byte \(secondLine)"), "\(broken)")
        #expect(broken.stdout.contains("taskctl workspace repair acme second"), "\(broken)")
        #expect(try await state.taskctl("workspace", "show", "acme", "second").status == 65)
        #expect(try Data(contentsOf: URL(fileURLWithPath: journal)) == Data(damaged))

        // A torn last line (a crash in the middle of an append, never acknowledged) is only a warning.
        try (original + Data(#"{"crc":"0a1b2c3d","len":120,"rec":{"as_of":17"#.utf8)).write(
            to: URL(fileURLWithPath: journal))
        let torn = try await state.taskctl("check")
        #expect(torn.status == 0 && torn.stdout.contains("warning") && torn.stdout.contains("incomplete"), "\(torn)")
        #expect(try await state.taskctl("workspace", "show", "acme", "second").status == 0)

        // A garbage line in the change log is a problem too.
        try original.write(to: URL(fileURLWithPath: journal))
        #expect(try await state.taskctl("check").status == 0)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: state.path + "/changes.log"))
        try log.seekToEnd()
        try log.write(contentsOf: Data("{not json}\n".utf8))
        try log.close()
        let garbage = try await state.taskctl("check")
        #expect(garbage.status == 1 && garbage.stdout.contains("changes.log"), "\(garbage)")
    }

    /// A checkpoint that parses but breaks the store's rules (here: ids at or above next_id, so they could be reused).
    @Test func checkReportsBrokenInvariants() async throws {
        let state = try StateDirectory()
        defer { state.remove() }
        chmod(state.path, 0o700)
        try state.createTasks(3, tenant: "acme", workspace: "default")
        let store = try WorkspaceStore(
            directory: state.path, maxWorkspacesPerTenant: 10,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let key = WorkspaceKey(tenant: try TenantID(parsing: "acme"), workspace: try WorkspaceID(parsing: "default"))
        try store.checkpoint(key)
        let document = store.checkpointPath(key)
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: document))) as? [String: Any])
        object["next_id"] = 2
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: document))

        let result = try await state.taskctl("check", "--json")
        #expect(result.status == 1, "\(result)")
        let problems = try #require(try state.json(result)["problems"] as? [[String: Any]])
        let messages = problems.compactMap { $0["message"] as? String }
        // Whether the store's decoder or taskctl's own invariant check catches it, the message names the rule.
        #expect(messages.contains { $0.contains("next_id") }, "\(messages)")
        #expect(problems.allSatisfy { ($0["subject"] as? String)?.contains(document) == true }, "\(problems)")
    }

    @Test func logCompactRotatesAndStateStaysSound() async throws {
        let state = try StateDirectory()
        defer { state.remove() }
        chmod(state.path, 0o700)
        try state.createTasks(5, tenant: "acme", workspace: "default")
        let compacted = try await state.taskctl("log", "compact")
        #expect(compacted.status == 0, "\(compacted)")
        #expect(FileManager.default.fileExists(atPath: state.path + "/changes.log.1"))
        // Every journal was folded into a checkpoint.
        let workspace = state.path + "/workspaces/acme/default"
        #expect(FileManager.default.fileExists(atPath: workspace + "/checkpoint.json"))
        try state.createTasks(1, tenant: "acme", workspace: "default")
        let check = try await state.taskctl("check", "--json")
        #expect(check.status == 0, "\(check)")
        let report = try state.json(check)
        #expect(report["log_records"] as? Int == 6 && report["journal_records"] as? Int == 1, "\(report)")
    }
}

/// The wall clock in the store's unit.
enum OperationsClock {
    static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}
