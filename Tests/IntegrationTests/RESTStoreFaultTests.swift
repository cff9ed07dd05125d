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

    @Test func aDamagedJournalMakesOnlyItsWorkspace503NamingTheFileAndTaskctlSaysHowToRepair() async throws {
        try await TaskdHarness.with(TaskdHarness.Options()) { harness in
            let key = try harness.issueKey()
            for _ in 0..<3 { _ = try await harness.createTask(key: key, workspace: "broken") }
            _ = try await harness.createTask(key: key, workspace: "sound")
            // Garble the second line; the third stays good, so this is damage, not a torn tail.
            let journal = Self.workspaceDirectory(harness, workspace: "broken").appendingPathComponent("journal.log")
            var bytes = [UInt8](try Data(contentsOf: journal))
            let secondLine = bytes.firstIndex(of: UInt8(ascii: "\n"))! + 1
            bytes[secondLine + 50] ^= 0x04
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
                #expect(
                    message.contains("'journal.log'") && !message.contains(harness.stateDirectory.path), "\(message)")
            }
            #expect(try await harness.listTasks(key: key, workspace: "sound").count == 1)
            #expect(try await harness.createTask(key: key, workspace: "sound").id == 2)
            #expect(try Data(contentsOf: journal) == Data(bytes))

            var environment = harness.serverEnvironment
            environment["TASKD_ENV_FILE"] = harness.prefix.appendingPathComponent("no-env-file").path
            let check = try await OperationsCommand.run(
                OperationsCommand.binDirectory + "/taskctl", ["check"], environment: environment, timeout: .seconds(20))
            #expect(check.status == 1, "\(check)")
            #expect(
                check.stdout.contains(journal.path) && check.stdout.contains("truncate -s \(secondLine)"), "\(check)")
        }
    }
}
