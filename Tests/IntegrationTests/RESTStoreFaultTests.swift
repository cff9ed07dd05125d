import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The store's faults as clients and operators see them, through nginx: a busy workspace, a damaged one.
@Suite("REST: busy and damaged workspaces", .timeLimit(.minutes(1)))
struct RESTStoreFaultTests {
    /// The directory of one workspace of the state dir (names as the tests use them need no encoding).
    static func workspaceDirectory(_ harness: TaskdHarness, tenant: String = "acme", workspace: String) -> URL {
        harness.stateDirectory.appendingPathComponent("workspaces/\(tenant)/\(workspace)")
    }

    @Test func aWorkspaceWhoseLockIsHeldAnswers503WithRetryAfterWhileReadsGoOn() async throws {
        var options = TaskdHarness.Options()
        options.environment["TASKD_LOCK_WAIT_MS"] = "300"
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let first = try await harness.createTask(key: key)
            // Another writer (here: this test) holds the workspace's lock for longer than the deadline.
            let lock = open(
                Self.workspaceDirectory(harness, workspace: "default").appendingPathComponent("lock").path, O_RDWR)
            #expect(lock >= 0 && flock(lock, LOCK_EX) == 0)
            defer { close(lock) }
            let started = ContinuousClock.now
            let answer = try await harness.client.post(
                harness.target("/tasks", key: key), json: TaskdHarness.taskBody(name: "x", type: "gx.tiny"))
            let waited = ContinuousClock.now - started
            expectError(answer, status: 503, code: "unavailable")
            #expect(answer.header("Retry-After") == "1")
            #expect(waited >= .milliseconds(250) && waited < .seconds(5), "\(waited)")
            // Reads take no lock: they go on, and show that nothing was written.
            #expect(try await harness.listTasks(key: key).map(\.id) == [first.id])
            flock(lock, LOCK_UN)
            #expect(try await harness.createTask(key: key).id == first.id + 1)
        }
    }

    @Test func aChangeLogLockedElsewhereStillAnswersACommittedCreate201Promptly() async throws {
        var options = TaskdHarness.Options()
        options.startWebSocket = false
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let first = try await harness.createTask(key: key)
            // Another process holds changes.lock exclusively (as a rotation does, for microseconds) and keeps it.
            let lock = open(harness.stateDirectory.appendingPathComponent("changes.lock").path, O_RDWR)
            #expect(lock >= 0 && flock(lock, LOCK_EX) == 0)
            defer { close(lock) }
            let started = ContinuousClock.now
            let answer = try await harness.client.post(
                harness.target("/tasks", key: key), json: TaskdHarness.taskBody(name: "x", type: "gx.tiny"))
            let waited = ContinuousClock.now - started
            // Durable before the change log is touched: committed, so answered 201 (the stream finds it by sequence).
            #expect(answer.status == 201, "\(answer)")
            #expect(waited < .seconds(3), "\(waited)")
            #expect(try await harness.listTasks(key: key).map(\.id) == [first.id, first.id + 1])
            flock(lock, LOCK_UN)
            #expect(try await harness.createTask(key: key).id == first.id + 2)
        }
    }

    /// Runs `taskctl` against the harness's state directory.
    static func taskctl(_ harness: TaskdHarness, _ arguments: String...) async throws -> OperationsCommand.Result {
        var environment = harness.serverEnvironment
        environment["TASKD_ENV_FILE"] = harness.prefix.appendingPathComponent("no-env-file").path
        return try await OperationsCommand.run(
            OperationsCommand.binDirectory + "/taskctl", arguments, environment: environment, timeout: .seconds(20))
    }

    /// The issue's case: one flipped byte in the last complete journal line, the create of an acknowledged task.
    /// That workspace answers 503 (naming no path), every other keeps serving, the damaged bytes stay where they are
    /// and in a side file, `taskctl check` names the workspace and the file, and after `taskctl workspace repair` the
    /// workspace serves again without ever handing out the lost task's id.
    @Test func aDamagedLastJournalLineMakesOnlyItsWorkspace503AndRepairNeverReusesItsID() async throws {
        try await TaskdHarness.with(TaskdHarness.Options()) { harness in
            let key = try harness.issueKey()
            for _ in 0..<4 { _ = try await harness.createTask(key: key, workspace: "broken") }
            let lost = try await harness.createTask(key: key, workspace: "broken")
            _ = try await harness.createTask(key: key, workspace: "sound")
            let directory = Self.workspaceDirectory(harness, workspace: "broken")
            let journal = directory.appendingPathComponent("journal.log")
            var bytes = [UInt8](try Data(contentsOf: journal))
            let lastLine = bytes.dropLast().lastIndex(of: UInt8(ascii: "\n"))! + 1
            bytes[lastLine + 60] ^= 0x04
            try Data(bytes).write(to: journal)

            // The responder held the workspace in its cache: the change of the file is noticed all the same.
            for answer in [
                try await harness.client.get(harness.target("/tasks", key: key, workspace: "broken")),
                try await harness.client.post(
                    harness.target("/tasks", key: key, workspace: "broken"),
                    json: TaskdHarness.taskBody(name: "x", type: "gx.tiny")),
            ] {
                expectError(answer, status: 503, code: "unavailable")
                let message = try answer.jsonObject()["message"] as? String ?? ""
                #expect(!message.contains("/") && !message.contains("journal"), "\(message)")
            }
            #expect(try await harness.listTasks(key: key, workspace: "sound").count == 1)
            #expect(try await harness.createTask(key: key, workspace: "sound").id == 2)
            // Nothing cut the damaged line off; its bytes are also in a side file; the log names the journal.
            #expect(try Data(contentsOf: journal) == Data(bytes))
            let sideFiles = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasPrefix("journal.damaged-\(lastLine)-") }
            #expect(sideFiles.count == 1, "\(sideFiles)")
            let kept = try Data(contentsOf: directory.appendingPathComponent(sideFiles.first ?? "-"))
            #expect(kept == Data(bytes[lastLine...]))
            #expect(harness.responder?.logTail().contains(journal.path) == true)

            let check = try await Self.taskctl(harness, "check")
            #expect(check.status == 1, "\(check)")
            #expect(check.stdout.contains("acme/broken") && check.stdout.contains(journal.path), "\(check)")
            #expect(check.stdout.contains("taskctl workspace repair acme broken"), "\(check)")

            let repair = try await Self.taskctl(harness, "workspace", "repair", "acme", "broken")
            #expect(repair.status == 0 && repair.stdout.contains(sideFiles.first ?? "-"), "\(repair)")
            #expect(try await harness.listTasks(key: key, workspace: "broken").map(\.id) == [1, 2, 3, 4])
            let next = try await harness.createTask(key: key, workspace: "broken")
            #expect(next.id > lost.id, "the lost task's id \(lost.id) was handed out again as \(next.id)")
            #expect(try await Self.taskctl(harness, "check").status == 0)
            #expect(harness.responder?.isRunning == true)
        }
    }

    @Test func aDamagedLineFollowedByGoodOnesIsDamageToo() async throws {
        try await TaskdHarness.with(TaskdHarness.Options()) { harness in
            let key = try harness.issueKey()
            for _ in 0..<3 { _ = try await harness.createTask(key: key, workspace: "broken") }
            // Garble the second line; the third stays good.
            let journal = Self.workspaceDirectory(harness, workspace: "broken").appendingPathComponent("journal.log")
            var bytes = [UInt8](try Data(contentsOf: journal))
            let secondLine = bytes.firstIndex(of: UInt8(ascii: "\n"))! + 1
            bytes[secondLine + 50] ^= 0x04
            try Data(bytes).write(to: journal)
            expectError(
                try await harness.client.get(harness.target("/tasks", key: key, workspace: "broken")), status: 503,
                code: "unavailable")
            let check = try await Self.taskctl(harness, "check")
            #expect(check.status == 1 && check.stdout.contains("byte \(secondLine)"), "\(check)")
            #expect(try await Self.taskctl(harness, "workspace", "repair", "acme", "broken").status == 0)
            #expect(try await harness.listTasks(key: key, workspace: "broken").isEmpty)
            #expect(try await harness.createTask(key: key, workspace: "broken").id > 3)
        }
    }
}
