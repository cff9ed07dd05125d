import Foundation
import Glibc
import TaskStore
import Testing

/// A crafted export or keys file must not let one tenant reach another's data, an import must not merge two customers
/// or undo writes, and no taskctl waits for the keys file's lock without end: each refusal with the real binaries.
@Suite(.timeLimit(.minutes(1)))
struct OperationsTenantSafetyTests {
    typealias StateDirectory = OperationsTaskCtlTests.StateDirectory

    /// A keys-file entry as JSON text.
    static func entry(id: String, tenant: String, sha256: String) -> String {
        #"{"created_at":1764403100000,"id":"\#(id)","sha256":"\#(sha256)","shard":1,"tenant":"\#(tenant)"}"#
    }

    /// An export of `tenant` that holds only `keys` (JSON entries) and no workspace.
    static func export(tenant: String, keys: [String]) -> String {
        #"{"exported_at":1764403199000,"format":"taskd-tenant","frozen":false,"keys":["#
            + keys.joined(separator: ",") + #"],"tenant":"\#(tenant)","version":1,"workspaces":[]}"#
    }

    @Test func aCraftedExportOrKeysFileCannotMakeTheVictimsKeyServeAnotherTenant() async throws {
        try await TaskdHarness.with { harness in
            var environment = harness.serverEnvironment
            environment["TASKD_ENV_FILE"] = harness.prefix.appendingPathComponent("no-env-file").path
            func taskctl(_ arguments: String...) async throws -> OperationsCommand.Result {
                try await OperationsCommand.run(
                    OperationsCommand.binDirectory + "/taskctl", arguments, environment: environment,
                    timeout: .seconds(20))
            }
            let added = try await taskctl("key", "add", "victim")
            #expect(added.status == 0, "\(added)")
            let victimKey = added.lastLine
            let victimID = try #require(victimKey.split(separator: "_").dropFirst(2).first.map { "k_\($0)" })
            let hash = KeyHash(of: victimKey).hex
            _ = try await harness.createTask(key: victimKey, name: "the victim's")
            let keysPath = harness.keysFile.path
            let keysBefore = try String(contentsOfFile: keysPath, encoding: .utf8)

            // The issue's export: mallory's key entry carries the victim's hash in upper case. Then the same hash in
            // lower case. Both refused, the keys file untouched, and the victim's key still the victim's.
            let exportFile = harness.prefix.appendingPathComponent("mallory.json").path
            let upper = Self.export(
                tenant: "mallory",
                keys: [Self.entry(id: "k_00000000000e", tenant: "mallory", sha256: hash.uppercased())])
            try upper.write(toFile: exportFile, atomically: true, encoding: .utf8)
            let refusedUpper = try await taskctl("tenant", "import", exportFile)
            #expect(refusedUpper.status == 65 && refusedUpper.stderr.contains("keys[0].sha256"), "\(refusedUpper)")
            let lower = Self.export(
                tenant: "mallory", keys: [Self.entry(id: "k_00000000000e", tenant: "mallory", sha256: hash)])
            try lower.write(toFile: exportFile, atomically: true, encoding: .utf8)
            let refusedLower = try await taskctl("tenant", "import", exportFile)
            #expect(
                refusedLower.status == 1 && refusedLower.stderr.contains("already in this keys file"), "\(refusedLower)"
            )
            #expect(try String(contentsOfFile: keysPath, encoding: .utf8) == keysBefore)
            #expect(try await harness.listTasks(key: victimKey).map(\.name) == ["the victim's"])

            // A keys file edited by hand (or damaged) with the victim's hash twice: the key serves no one (401), and
            // `taskctl check` names both entries and both tenants.
            let victimEntry = try #require(
                try JSONSerialization.jsonObject(with: Data(keysBefore.utf8)) as? [String: Any])
            let victimJSON = String(
                decoding: try JSONSerialization.data(
                    withJSONObject: try #require((victimEntry["keys"] as? [Any])?.first), options: [.sortedKeys]),
                as: UTF8.self)
            func writeKeys(_ entries: [String]) throws {
                let text = #"{"keys":["# + entries.joined(separator: ",") + #"],"version":1}"#
                let temporary = keysPath + ".test"
                try text.write(toFile: temporary, atomically: false, encoding: .utf8)
                chmod(temporary, 0o600)
                rename(temporary, keysPath)
            }
            try writeKeys([victimJSON, Self.entry(id: "k_00000000000e", tenant: "mallory", sha256: hash)])
            try await waitUntil("the key held twice to be refused", timeout: .seconds(1), interval: .milliseconds(10)) {
                try await harness.client.get(harness.target("/tasks", key: victimKey)).status == 401
            }
            let check = try await taskctl("check")
            #expect(check.status == 1, "\(check)")
            #expect(
                check.stdout.contains("\(victimID), k_00000000000e have the same hash (tenants mallory, victim)"),
                "\(check)")
            let revoked = try await taskctl("key", "revoke", "k_00000000000e")
            #expect(revoked.status == 0, "\(revoked)")
            try await waitUntil("the key to serve its tenant again", timeout: .seconds(1), interval: .milliseconds(10))
            {
                try await harness.client.get(harness.target("/tasks", key: victimKey)).status == 200
            }
            #expect(try await harness.listTasks(key: victimKey).map(\.name) == ["the victim's"])

            // The upper-case spelling written straight into the keys file: that entry is refused, the victim keeps
            // its key, and check names the field.
            try writeKeys([victimJSON, Self.entry(id: "k_00000000000e", tenant: "mallory", sha256: hash.uppercased())])
            let flawed = try await taskctl("check")
            #expect(flawed.status == 1 && flawed.stdout.contains("keys[1].sha256 (k_00000000000e)"), "\(flawed)")
            let until = ContinuousClock.now + .seconds(1)
            while ContinuousClock.now < until {
                #expect(try await harness.listTasks(key: victimKey).map(\.name) == ["the victim's"])
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    @Test func anImportRefusesToMergeTenantsOrRollBackWritesAndImportsUnderAnotherName() async throws {
        let source = try StateDirectory()
        let target = try StateDirectory()
        let other = try StateDirectory()
        defer {
            source.remove()
            target.remove()
            other.remove()
        }
        try source.createTasks(3, tenant: "acme", workspace: "w")
        #expect(try await source.taskctl("key", "add", "acme").status == 0)
        #expect(try await source.taskctl("tenant", "freeze", "acme").status == 0)
        let exported = try await source.taskctl("tenant", "export", "acme")
        #expect(exported.status == 0, "\(exported)")
        let file = source.path + "/acme.json"
        try exported.stdout.write(toFile: file, atomically: true, encoding: .utf8)

        // Another customer called acme already lives on the target.
        #expect(try await target.taskctl("key", "add", "acme").status == 0)
        let keysBefore = try String(contentsOfFile: target.path + "/keys.json", encoding: .utf8)
        for arguments in [["tenant", "import", file], ["tenant", "import", file, "--replace"]] {
            let merged = try await target.taskctl(arguments)
            #expect(merged.status == 1, "\(merged)")
            #expect(merged.stderr.contains("already exists here with 1 key(s)"), "\(merged)")
            #expect(merged.stderr.contains("--as NEW_NAME"), "\(merged)")
        }
        #expect(try String(contentsOfFile: target.path + "/keys.json", encoding: .utf8) == keysBefore)
        #expect(!FileManager.default.fileExists(atPath: target.path + "/workspaces/acme"))

        // The way out the message names.
        let renamed = try await target.taskctl("tenant", "import", file, "--as", "acme-moved")
        #expect(renamed.status == 0 && renamed.stdout.contains("as acme-moved"), "\(renamed)")
        let show = try await target.taskctl("workspace", "show", "acme-moved", "w", "--json")
        #expect((try target.json(show)["tasks"] as? [Any])?.count == 3, "\(show)")
        let keys = try await target.taskctl("key", "list", "--tenant", "acme-moved", "--json")
        #expect((try target.json(keys)["keys"] as? [Any])?.count == 1, "\(keys)")
        #expect(try await target.taskctl("tenant", "import", file, "--as", "Not A Name").status == 64)

        // --replace never rolls back a workspace that took writes since the export.
        #expect(try await other.taskctl("tenant", "import", file).status == 0)
        #expect(try await other.taskctl("tenant", "import", file, "--replace").status == 0)
        #expect(try await other.taskctl("tenant", "unfreeze", "acme").status == 0)
        try other.createTasks(1, tenant: "acme", workspace: "w")
        let rollback = try await other.taskctl("tenant", "import", file, "--replace")
        #expect(rollback.status == 1, "\(rollback)")
        #expect(rollback.stderr.contains("seq 4 here and seq 3 in the export"), "\(rollback)")
        #expect(rollback.stderr.contains("--as NEW_NAME"), "\(rollback)")
        let kept = try await other.taskctl("workspace", "show", "acme", "w", "--json")
        #expect((try other.json(kept)["tasks"] as? [Any])?.count == 4, "\(kept)")
    }

    @Test func aTaskctlWaitingForTheKeysFilesLockGivesUpAtItsDeadline() async throws {
        let state = try StateDirectory()
        defer { state.remove() }
        let added = try await state.taskctl("key", "add", "acme", "--json")
        #expect(added.status == 0, "\(added)")
        let id = try #require((try state.json(added)["entry"] as? [String: Any])?["id"] as? String)
        let keysPath = state.path + "/keys.json"
        let before = try String(contentsOfFile: keysPath, encoding: .utf8)

        // Another editor holds the lock (as a stuck taskctl would).
        let lock = open(keysPath + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #expect(lock >= 0 && flock(lock, LOCK_EX) == 0)
        defer { close(lock) }
        let exportFile = state.path + "/beta.json"
        try Self.export(tenant: "beta", keys: []).write(toFile: exportFile, atomically: true, encoding: .utf8)
        let wait = ["TASKD_LOCK_WAIT_MS": "300"]
        for arguments in [
            ["key", "add", "acme"], ["key", "revoke", id], ["tenant", "freeze", "acme"], ["tenant", "retire", "acme"],
            ["tenant", "import", exportFile],
        ] {
            let started = ContinuousClock.now
            let result = try await state.taskctl(arguments, environment: wait)
            let took = ContinuousClock.now - started
            if arguments[1] == "freeze" {
                #expect(result.status == 0, "\(result)")  // freezing does not touch the keys
                continue
            }
            #expect(result.status == 75, "\(arguments): \(result)")
            #expect(result.stderr.contains("Another process holds \(keysPath).lock"), "\(result)")
            #expect(result.stderr.contains("nothing was changed"), "\(result)")
            #expect(took < .seconds(5), "\(arguments) took \(took)")
        }
        #expect(try String(contentsOfFile: keysPath, encoding: .utf8) == before)
        flock(lock, LOCK_UN)
        #expect(try await state.taskctl(["key", "add", "acme"], environment: wait).status == 0)
    }
}
