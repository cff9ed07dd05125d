import Foundation
import Synchronization
import TaskCore
@testable import TaskStore
import Testing

@testable import TaskAPI

/// The operations' semantics as time moves: statuses, slots, delete and flush.
@Suite struct APIHandlerTasksTests {
    @Test func tasksMoveFromQueuedToRunningToCompletedWithTheClock() throws {
        let api = try APIHarness()
        try api.create(type: "gx.tiny")
        #expect(try api.statuses() == [1: "queued"])
        api.clock.advance(by: 1)
        #expect(try api.statuses() == [1: "running"])
        // gx.tiny runs 1.5 s to 4.5 s at time scale 1.
        api.clock.advance(by: 1_498)
        #expect(try api.statuses() == [1: "running"])
        api.clock.advance(by: 3_001)
        #expect(try api.statuses() == [1: "completed"])
    }

    @Test func slotsLimitHowManyRunAtOnce() throws {
        let api = try APIHarness(slots: 2)
        for _ in 1...4 { try api.create(type: "gx.heavy") }
        api.clock.advance(by: 1)
        #expect(try api.statuses() == [1: "running", 2: "running", 3: "queued", 4: "queued"])
        #expect(api.send(.delete, "/tasks/3", query: api.query()).status == .noContent)
        #expect(try api.statuses() == [1: "running", 2: "running", 4: "queued"])
    }

    @Test func flushRemovesDispatchedTasksFreesSlotsAndKeepsQueuedOnes() throws {
        let api = try APIHarness(slots: 1)
        for _ in 1...3 { try api.create(type: "gx.heavy") }
        api.clock.advance(by: 1)
        #expect(try api.statuses() == [1: "running", 2: "queued", 3: "queued"])
        #expect(api.send(.post, "/tasks/flush", query: api.query()).status == .noContent)
        // Task 2 starts at the moment of the flush, so it is still queued at that very moment.
        #expect(try api.statuses() == [2: "queued", 3: "queued"])
        api.clock.advance(by: 1)
        #expect(try api.statuses() == [2: "running", 3: "queued"])
    }

    @Test func flushWithNothingToRemoveWritesNothing() throws {
        let api = try APIHarness()
        try api.create(type: "gx.heavy")
        let key = WorkspaceKey(tenant: try TenantID(parsing: "alpha"), workspace: .default)
        let before = try api.store.read(key)
        #expect(api.send(.post, "/tasks/flush", query: api.query()).status == .noContent)
        #expect(try api.store.read(key) == before)
        #expect(try api.statuses() == [1: "queued"])
        api.clock.advance(by: 1)
        #expect(api.send(.post, "/tasks/flush", query: api.query()).status == .noContent)
        #expect(try api.store.read(key).sequence == before.sequence + 1)
        #expect(try api.list().isEmpty)
    }

    @Test func flushOfAnUnusedWorkspaceCreatesNothing() throws {
        let api = try APIHarness()
        #expect(api.send(.post, "/tasks/flush", query: api.query(workspace: "never-used")).status == .noContent)
        #expect(APIHandlerTests.findFile(named: "state.json", under: api.directory) == nil)
    }

    @Test func completedTasksAreFlushedAndIDsAreNeverReused() throws {
        let api = try APIHarness()
        try api.create(type: "gx.tiny")
        try api.create(type: "gx.tiny")
        #expect(api.send(.delete, "/tasks/2", query: api.query()).status == .noContent)
        api.clock.advance(by: 10_000)
        #expect(try api.statuses() == [1: "completed"])
        #expect(api.send(.post, "/tasks/flush", query: api.query()).status == .noContent)
        #expect(try api.list().isEmpty)
        #expect(try api.create() == 3)
    }

    @Test func deletedTaskIsGoneAndASecondDeleteIs404() throws {
        let api = try APIHarness()
        try api.create()
        #expect(api.send(.delete, "/tasks/1", query: api.query()).status == .noContent)
        #expect(try api.list().isEmpty)
        #expect(api.send(.delete, "/tasks/1", query: api.query()).status == .notFound)
    }

    @Test func aTaskStartingBetweenReadAndLockCannotBeDeleted() throws {
        // The delete reads the clock once before taking the lock and once under it. Here the task is queued at the
        // first reading and running at the second: the delete must be refused, and the task kept.
        let api = try APIHarness()
        let calls = Atomic<Int64>(0)
        let start = api.clock.now
        let stepping = APIHandler(
            settings: api.settings, store: api.store, keys: api.keys,
            clock: { start + (calls.add(1, ordering: .relaxed).newValue >= 3 ? 1 : 0) },
            logger: api.recorder.logger())
        let create = stepping.handle(
            Request(
                method: .post, path: "/tasks", rawQuery: api.query(),
                body: Array(#"{"name":"a","type":"gx.heavy"}"#.utf8)))
        #expect(create.status == .created)
        let delete = stepping.handle(Request(method: .delete, path: "/tasks/1", rawQuery: api.query()))
        #expect(delete.status == .conflict)
        #expect(calls.load(ordering: .relaxed) == 3)
        api.clock.advance(by: 1)
        #expect(try api.statuses() == [1: "running"])
    }

    @Test func concurrentCreatesGetDistinctIDsWithNoneLost() throws {
        let api = try APIHarness()
        let threads = 8
        let perThread = 25
        let ids = Monitor<[Int64]>([])
        let failures = Atomic<Int>(0)
        let query = api.query(workspace: "busy")
        let handler = api.handler
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for index in 0..<perThread {
                let response = handler.handle(
                    Request(
                        method: .post, path: "/tasks", rawQuery: query,
                        body: Array(#"{"name":"t\#(thread)-\#(index)","type":"gx.heavy"}"#.utf8)))
                guard response.status == .created,
                    let envelope = try? JSONDecoder().decode(TaskEnvelope.self, from: Data(response.body))
                else {
                    failures.add(1, ordering: .relaxed)
                    continue
                }
                ids.withValue { $0.append(envelope.task.id) }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(ids.withValue { $0.sorted() } == Array(1...Int64(threads * perThread)))
        #expect(try api.list(workspace: "busy").count == threads * perThread)
    }

    @Test func statusesNeverGoBackwards() throws {
        let api = try APIHarness(slots: 2)
        var seen: [Int64: String] = [:]
        let rank = ["queued": 0, "running": 1, "completed": 2]
        for step in 0..<60 {
            if step % 3 == 0 { try api.create(type: step % 2 == 0 ? "gx.tiny" : "gx.micro") }
            if step % 11 == 5 { api.send(.post, "/tasks/flush", query: api.query()) }
            if step % 7 == 3, let queued = seen.first(where: { $0.value == "queued" }) {
                api.send(.delete, "/tasks/\(queued.key)", query: api.query())
            }
            api.clock.advance(by: 700)
            let now = try api.statuses()
            for (id, status) in now {
                if let before = seen[id] {
                    #expect(
                        rank[status, default: -1] >= rank[before, default: 3], "task \(id) went \(before) → \(status)")
                }
                seen[id] = status
            }
            #expect(now.values.filter { $0 == "running" }.count <= 2)
        }
    }
}
