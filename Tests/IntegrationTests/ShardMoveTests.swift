import Foundation
import Logging
import Synchronization
import TaskCore
import TaskStore
import Testing

/// A tenant moves from shard 1 to shard 3 by the documented procedure (docs/scaling.md), run with the real taskctl,
/// while a client creates tasks in a loop through the front and a stream watches: every create answered 201 ends up
/// on shard 3 with its id, ids and sequences carry on, and the stream reconnects to shard 3.
extension ShardedDeploymentTests {
    @Suite(.timeLimit(.minutes(3))) struct ShardMoveTests {
        /// What the writing client saw.
        struct Acknowledged: Sendable, Equatable {
            let name: String
            let id: Int
            let shard: String
        }

        final class WriterLog: Sendable {
            let acknowledged = Mutex<[Acknowledged]>([])
            let refusals = Mutex<[HTTPAnswer]>([])
            let unexpected = Mutex<[HTTPAnswer]>([])
            let stop = Atomic<Bool>(false)
        }

        @Test func aTenantMovedWhileAClientWritesLosesNoAcknowledgedCreate() async throws {
            try await ShardedHarness.with { front in
                let key = try front.issueKey(tenant: "mover", onShard: 1)
                let bystander = try front.issueKey(tenant: "bystander", onShard: 2)
                // History worth carrying: a second workspace with a delete and a flush behind it.
                for name in ["a", "b", "c"] {
                    #expect(
                        try await front.postTask(key: key, workspace: "side", name: name, type: "gx.tiny").status == 201
                    )
                }
                let waiting = try await front.postTask(key: key, workspace: "side", name: "gone")
                _ = try await front.client.delete(
                    front.target("/tasks/\(try Self.id(of: waiting))", key: key, workspace: "side"))
                #expect(
                    try await front.client.post(front.target("/tasks/flush", key: key, workspace: "side"), json: "")
                        .status
                        == 204)
                let sideBefore = try await front.listTasks(key: key, workspace: "side", expectingShard: 1)

                let stream = try await front.openWebSocket(key: key, workspace: "loop")
                let log = WriterLog()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await Self.write(through: front, key: key, log: log) }
                    try await waitUntil("a few creates on shard 1 first") {
                        log.acknowledged.withLock { $0.count } >= 5
                    }

                    try await Self.move(front, tenant: "mover", from: 1, to: 3, key: key)

                    try await waitUntil("creates acknowledged by shard 3", timeout: .seconds(30)) {
                        log.acknowledged.withLock { list in list.filter { $0.shard == "3" }.count } >= 5
                    }
                    log.stop.store(true, ordering: .relaxed)
                    try await group.waitForAll()
                }

                let acknowledged = log.acknowledged.withLock { $0 }
                let listed = try await front.listTasks(key: key, workspace: "loop", expectingShard: 3)
                let byID = Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0.name) })
                for ack in acknowledged {
                    #expect(byID[ack.id] == ack.name, "acknowledged \(ack) is not on shard 3")
                }
                #expect(
                    acknowledged.map(\.id) == acknowledged.map(\.id).sorted()
                        && Set(acknowledged.map(\.id)).count == acknowledged.count)
                #expect(Set(acknowledged.map(\.shard)) == ["1", "3"], "the move did not happen while the client wrote")
                // The writes in between were refused, as the client is told: 503, JSON, Retry-After.
                #expect(!log.refusals.withLock { $0 }.isEmpty, "no write was refused: did the freeze happen?")
                for refusal in log.refusals.withLock({ $0 }) {
                    expectError(refusal, status: 503, code: "unavailable")
                    #expect(refusal.header("Retry-After") != nil, "\(refusal)")
                }
                #expect(log.unexpected.withLock { $0 }.isEmpty, "\(log.unexpected.withLock { $0 })")

                // The other workspace arrived as it was; its ids carry on where they stopped.
                #expect(try await front.listTasks(key: key, workspace: "side").map(\.id) == sideBefore.map(\.id))
                let next = try await front.postTask(key: key, workspace: "side", name: "after the move")
                #expect(try Self.id(of: next) == 5, "\(next)")
                // Sequences too: the moved workspace's is the source's plus one per create on shard 3.
                let sequenceOnSource = try Self.sequence(front.shard(1), "mover", "loop")
                let sequenceOnTarget = try Self.sequence(front.shard(3), "mover", "loop")
                #expect(sequenceOnTarget == sequenceOnSource + UInt64(acknowledged.filter { $0.shard == "3" }.count))

                // The old stream was closed by shard 1 when the keys left it; a new one reaches shard 3 and shows the
                // creates made there.
                try await stream.waitForClose(timeout: .seconds(10))
                #expect(stream.closeCode == 1008, "\(String(describing: stream.closeCode))")
                let again = try await front.openWebSocket(key: key, workspace: "loop")
                try await again.waitForFrames("the new stream to list every create") { frames in
                    frames.last.flatMap { try? WebSocketClient.tasks(in: $0).map(\.id) } == listed.map(\.id)
                }
                await again.close()
                #expect(try await front.postTask(key: bystander, name: "unaffected").status == 201)
            }
        }

        /// The client: creates in a loop, waits on a 503 as Retry-After asks (shortened for the test) and tries again.
        static func write(through front: ShardedHarness, key: String, log: WriterLog) async throws {
            var number = 0
            // Until told to stop, or until the test gives up (the group cancels the writer when the move fails).
            while !log.stop.load(ordering: .relaxed) && !Task.isCancelled {
                number += 1
                let name = "loop \(number)"
                let answer = try await front.postTask(key: key, workspace: "loop", name: name)
                switch answer.status {
                case 201:
                    let ack = Acknowledged(
                        name: name, id: try id(of: answer), shard: answer.header("X-Taskd-Shard") ?? "?")
                    log.acknowledged.withLock { $0.append(ack) }
                case 503:
                    log.refusals.withLock { $0.append(answer) }
                    try await Task.sleep(for: .milliseconds(50))
                default:
                    log.unexpected.withLock { $0.append(answer) }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
        }

        /// docs/scaling.md's procedure, step by step, with the real taskctl.
        static func move(_ front: ShardedHarness, tenant: String, from source: Int, to target: Int, key: String)
            async throws
        {
            let exportFile = front.prefix.appendingPathComponent("\(tenant).json")
            try await taskctl(front.shard(source), ["tenant", "freeze", tenant])
            let exported = try await taskctl(front.shard(source), ["tenant", "export", tenant])
            try exported.stdout.write(to: exportFile, atomically: true, encoding: .utf8)
            try await taskctl(front.shard(target), ["tenant", "import", exportFile.path])
            try await taskctl(
                front.shard(target),
                ["tenant", "route", exportFile.path, "--shard", "\(target)", "--routes", front.routesFile.path])
            try await front.reloadFront(untilKey: key, reaches: target)
            try await taskctl(front.shard(target), ["tenant", "unfreeze", tenant])
            try await taskctl(front.shard(source), ["tenant", "retire", tenant])
        }

        @discardableResult
        static func taskctl(_ shard: TaskdHarness, _ arguments: [String]) async throws -> OperationsCommand.Result {
            var environment = shard.serverEnvironment
            environment["TASKD_ENV_FILE"] = shard.prefix.appendingPathComponent("no-such-env-file").path
            let result = try await OperationsCommand.run(
                OperationsCommand.binDirectory + "/taskctl", arguments, environment: environment, timeout: .seconds(30))
            guard result.status == 0 else {
                throw HarnessError("taskctl \(arguments.joined(separator: " ")): \(result)")
            }
            return result
        }

        static func id(of answer: HTTPAnswer) throws -> Int {
            guard let task = try answer.jsonObject()["task"] as? [String: Any], let id = task["id"] as? Int else {
                throw HarnessError("not a created task: \(answer)")
            }
            return id
        }

        static func sequence(_ shard: TaskdHarness, _ tenant: String, _ workspace: String) throws -> UInt64 {
            let store = try WorkspaceStore(
                directory: shard.stateDirectory.path, maxWorkspacesPerTenant: 1_000,
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            return try store.read(
                WorkspaceKey(tenant: TenantID(parsing: tenant), workspace: WorkspaceID(parsing: workspace))
            )
            .sequence
        }
    }
}
