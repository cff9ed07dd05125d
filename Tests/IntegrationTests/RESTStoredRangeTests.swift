import Foundation
import Logging
import TaskCore
import TaskStore
import Testing

/// Stored numbers at and past the edges of their ranges, through nginx and the real responder: the issue's
/// `"next_id":9223372036854775807` once trapped taskd-fcgi on the next create (a 502 for every tenant, again after
/// every restart). Now a value at the edge refuses what would overflow, a value past it makes only its workspace 503,
/// and the responder keeps serving everyone.
@Suite("REST: stored values at the edges of their ranges", .timeLimit(.minutes(1)))
struct RESTStoredRangeTests {
    static func store(_ harness: TaskdHarness) throws -> WorkspaceStore {
        try WorkspaceStore(
            directory: harness.stateDirectory.path, maxWorkspacesPerTenant: 10,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    static func key(_ workspace: String) throws -> WorkspaceKey {
        WorkspaceKey(tenant: try TenantID(parsing: "acme"), workspace: try WorkspaceID(parsing: workspace))
    }

    @Test func aWorkspaceWhoseNextIDIsAtTheEdgeRefusesCreatesAndTheResponderKeepsServing() async throws {
        try await TaskdHarness.with(TaskdHarness.Options()) { harness in
            let apiKey = try harness.issueKey()
            _ = try await harness.createTask(key: apiKey, workspace: "edge")
            _ = try await harness.createTask(key: apiKey, workspace: "other")
            let store = try Self.store(harness)
            let key = try Self.key("edge")
            var state = try store.read(key)
            let limit = StoredLimits.maximumSafeInteger
            state.nextID = limit - 1
            state.sequence = UInt64(limit - 2)
            // Written as a checkpoint with a journal that starts at it, as an edited or imported file would be.
            try Data(WireFormat.checkpointDocument(state, chain: 7)).write(
                to: URL(fileURLWithPath: store.checkpointPath(key)))
            try Data(WireFormat.journalLine(.header(base: state.sequence, chain: 7)).bytes).write(
                to: URL(fileURLWithPath: store.journalPath(key)))
            let responder = try #require(harness.responder)

            // The last id there is is handed out; then creates are refused, flushes and reads go on.
            #expect(try await harness.createTask(key: apiKey, workspace: "edge").id == Int(limit - 1))
            for _ in 0..<3 {
                let refused = try await harness.client.post(
                    harness.target("/tasks", key: apiKey, workspace: "edge"),
                    json: TaskdHarness.taskBody(name: "x", type: "gx.tiny"))
                expectError(refused, status: 429, code: "limit_exceeded")
            }
            #expect(try await harness.listTasks(key: apiKey, workspace: "edge").count == 2)
            let flushed = try await harness.client.post(
                harness.target("/tasks/flush", key: apiKey, workspace: "edge"), json: "")
            #expect(flushed.status == 204, "\(flushed)")
            #expect(try await harness.createTask(key: apiKey, workspace: "other").id == 2)
            #expect(responder.isRunning && harness.responder === responder)
        }
    }

    @Test func aNextIDPastTheRangeMakesOnlyItsWorkspace503AndCheckNamesTheField() async throws {
        try await TaskdHarness.with(TaskdHarness.Options()) { harness in
            let apiKey = try harness.issueKey()
            _ = try await harness.createTask(key: apiKey, workspace: "edge")
            _ = try await harness.createTask(key: apiKey, workspace: "other")
            // The issue's document, written as a checkpoint with a journal that starts at it (the encoder writes any
            // value; only the decoders judge).
            let store = try Self.store(harness)
            let key = try Self.key("edge")
            var state = try store.read(key)
            state.nextID = .max
            try Data(WireFormat.checkpointDocument(state, chain: 9)).write(
                to: URL(fileURLWithPath: store.checkpointPath(key)))
            try Data(WireFormat.journalLine(.header(base: state.sequence, chain: 9)).bytes).write(
                to: URL(fileURLWithPath: store.journalPath(key)))
            let responder = try #require(harness.responder)

            for _ in 0..<5 {
                expectError(
                    try await harness.client.post(
                        harness.target("/tasks", key: apiKey, workspace: "edge"),
                        json: TaskdHarness.taskBody(name: "x", type: "gx.tiny")),
                    status: 503, code: "unavailable")
            }
            expectError(
                try await harness.client.get(harness.target("/tasks", key: apiKey, workspace: "edge")), status: 503,
                code: "unavailable")
            #expect(try await harness.createTask(key: apiKey, workspace: "other").id == 2)
            #expect(responder.isRunning && harness.responder === responder)
            #expect(responder.logTail().contains(store.checkpointPath(key)))

            var environment = harness.serverEnvironment
            environment["TASKD_ENV_FILE"] = harness.prefix.appendingPathComponent("no-env-file").path
            let check = try await OperationsCommand.run(
                OperationsCommand.binDirectory + "/taskctl", ["check"], environment: environment,
                timeout: .seconds(20))
            #expect(check.status == 1, "\(check)")
            #expect(
                check.stdout.contains("acme/edge") && check.stdout.contains("next_id 9223372036854775807"),
                "\(check)")
        }
    }
}
