import Foundation
import Testing

import Glibc

/// Many clients at once, and a responder that dies or stops under load: no acknowledged task is ever lost.
@Suite("REST under concurrency and crashes", .serialized, .timeLimit(.minutes(1)))
struct RESTConcurrencyTests {
    /// `POST /tasks` until it is answered 201, as a client honouring 503's `Retry-After` would (the responder lets at
    /// most half its threads write at once and refuses the rest at once); a short pause stands for the delay.
    static func createRetryingWhileBusy(_ harness: TaskdHarness, key: String, name: String) async throws -> Int {
        for _ in 0..<1_000 {
            let answer = try await harness.client.post(
                harness.target("/tasks", key: key), json: TaskdHarness.taskBody(name: name, type: "gx.tiny"))
            if answer.status == 503, answer.header("Retry-After") != nil {
                try await Task.sleep(for: .milliseconds(5))
                continue
            }
            guard answer.status == 201, let task = try answer.jsonObject()["task"] else {
                throw HarnessError("POST /tasks failed: \(answer)")
            }
            return try WireTask(json: task).id
        }
        throw HarnessError("POST /tasks stayed busy")
    }

    @Test func sixteenClientsMaking50CreatesEachGet800DistinctIDs() async throws {
        var options = TaskdHarness.Options()
        options.timeScale = 1
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let ids = try await withThrowingTaskGroup(of: [Int].self) { group in
                for client in 0..<16 {
                    group.addTask {
                        var ids: [Int] = []
                        for index in 0..<50 {
                            ids.append(
                                try await Self.createRetryingWhileBusy(harness, key: key, name: "c\(client)-\(index)"))
                        }
                        return ids
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(ids.count == 800)
            #expect(Set(ids).count == 800, "every id distinct")
            #expect(Set(ids) == Set(1...800), "ids are 1…800 with no gap")
            let listed = try await harness.listTasks(key: key)
            #expect(listed.map(\.id) == Array(1...800), "none lost, in id order")
            #expect(Set(listed.map(\.name)).count == 800)
        }
    }

    @Test func aResponderKilledMidLoadKeepsEveryAcknowledgedTask() async throws {
        var options = TaskdHarness.Options()
        options.timeScale = 1
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let load = LoadGenerator(harness: harness, key: key)
            let clients = Task { try await load.run(clients: 8) }
            try await waitUntil("100 acknowledged creates before the kill") { await load.acknowledged.count >= 100 }
            await harness.responder?.killNow()
            #expect(harness.responder?.wasKilledBySignal == true)
            let beforeRestart = await load.acknowledged.count
            try harness.startResponder()
            try await harness.waitUntilReady()
            try await waitUntil("more acknowledged creates after the restart") {
                await load.acknowledged.count >= beforeRestart + 50
            }
            await load.stop()
            try await clients.value
            let acknowledged = await load.acknowledged
            #expect(Set(acknowledged).count == acknowledged.count, "no id acknowledged twice")
            let listed = Set(try await harness.listTasks(key: key).map(\.id))
            let lost = Set(acknowledged).subtracting(listed)
            #expect(lost.isEmpty, "acknowledged but lost: \(lost.sorted().prefix(20))")
        }
    }

    @Test func sigtermDrainsAndExitsZero() async throws {
        var options = TaskdHarness.Options()
        options.timeScale = 1
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let load = LoadGenerator(harness: harness, key: key)
            let clients = Task { try await load.run(clients: 8) }
            try await waitUntil("50 acknowledged creates") { await load.acknowledged.count >= 50 }
            guard let responder = harness.responder else { throw HarnessError("no responder") }
            responder.send(SIGTERM)
            let exited = await responder.waitForExit(timeout: .seconds(5))
            #expect(exited, "taskd-fcgi stops within 5 s of SIGTERM")
            #expect(!responder.wasKilledBySignal)
            #expect(responder.terminationStatus == 0, "\(responder.logTail())")
            #expect(!FileManager.default.fileExists(atPath: harness.fcgiSocket.path), "the socket file is removed")
            try harness.startResponder()
            try await harness.waitUntilReady()
            await load.stop()
            try await clients.value
            let acknowledged = Set(await load.acknowledged)
            let listed = Set(try await harness.listTasks(key: key).map(\.id))
            #expect(acknowledged.isSubset(of: listed))
        }
    }
}

extension RESTConcurrencyTests {
    /// Writers flooding workspaces whose locks another process holds keep at most half the responder's threads: the
    /// rest of the flood is refused at once, and a read of another tenant is answered at once.
    @Test func busyWorkspacesHoldAtMostHalfTheWorkersSoAnotherTenantIsStillAnswered() async throws {
        var options = TaskdHarness.Options()
        options.threads = 8
        options.startWebSocket = false
        // Long enough that no writer gives up while the test looks.
        options.environment["TASKD_LOCK_WAIT_MS"] = "30000"
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey(tenant: "acme")
            let other = try harness.issueKey(tenant: "beta")
            let workspaces = ["w1", "w2", "w3"]
            for workspace in workspaces { _ = try await harness.createTask(key: key, workspace: workspace) }
            _ = try await harness.createTask(key: other)
            // Another process holds the three workspaces' locks.
            let locks = workspaces.map { workspace in
                open(
                    RESTStoreFaultTests.workspaceDirectory(harness, workspace: workspace).appendingPathComponent("lock")
                        .path, O_RDWR)
            }
            defer { for fd in locks where fd >= 0 { close(fd) } }
            for fd in locks { #expect(fd >= 0 && flock(fd, LOCK_EX) == 0) }
            let answers = AnswerLog()
            let flood = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<12 {
                        group.addTask {
                            let answer = try await harness.client.post(
                                harness.target("/tasks", key: key, workspace: workspaces[index % 3]),
                                json: TaskdHarness.taskBody(name: "flood \(index)", type: "gx.tiny"))
                            await answers.record(answer)
                        }
                    }
                    try await group.waitForAll()
                }
            }
            // 4 of the 8 threads may write: the other 8 creates are refused without waiting.
            try await waitUntil("8 creates refused at once", timeout: .seconds(5)) { await answers.count == 8 }
            for answer in await answers.all {
                expectError(answer, status: 503, code: "unavailable")
                #expect(answer.header("Retry-After") == "1")
            }
            // The 4 writers hold their threads; the other 4 answer reads at once.
            let clock = ContinuousClock()
            for _ in 0..<5 {
                let started = clock.now
                let answer = try await harness.client.get(harness.target("/tasks", key: other))
                let took = clock.now - started
                #expect(answer.status == 200, "\(answer)")
                #expect(took < .milliseconds(500), "a read of another tenant took \(took)")
            }
            for fd in locks { flock(fd, LOCK_UN) }
            try await flood.value
            let statuses = await answers.all.map(\.status)
            #expect(statuses.count { $0 == 201 } == 4 && statuses.count { $0 == 503 } == 8, "\(statuses)")
        }
    }

    @Test func aResponderInheritingItsSocketOnFD0ServesThroughNginx() async throws {
        try await TaskdHarness.with { harness in
            let key = try harness.issueKey()
            _ = try await harness.createTask(key: key)
            await harness.responder?.stop()
            try harness.startResponder(inheritingSocket: true)
            try await harness.waitUntilReady()
            let log = harness.responder?.logTail() ?? ""
            #expect(log.contains("inherited listening socket (fd 0)"), "\(log)")
            #expect(try await harness.listTasks(key: key).count == 1)
            _ = try await harness.createTask(key: key)
            #expect(try await harness.listTasks(key: key).map(\.id) == [1, 2])
        }
    }
}

/// The answers of concurrent requests, in arrival order.
actor AnswerLog {
    private(set) var all: [HTTPAnswer] = []

    func record(_ answer: HTTPAnswer) { all.append(answer) }

    var count: Int { all.count }
}

/// Clients creating tasks in a loop until stopped, recording every id answered 201. Answers other than 201 (502
/// while the responder is down) are tolerated; the load is bounded by the stop call and by a request budget.
actor LoadGenerator {
    let harness: TaskdHarness
    let key: String
    private(set) var acknowledged: [Int] = []
    private var isStopped = false
    private var budget = 20_000

    init(harness: TaskdHarness, key: String) {
        self.harness = harness
        self.key = key
    }

    func stop() { isStopped = true }

    private func shouldContinue() -> Bool {
        budget -= 1
        return !isStopped && budget > 0
    }

    private func record(_ id: Int) { acknowledged.append(id) }

    func run(clients: Int) async throws {
        let harness = harness
        let key = key
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var index = 0
                    while await self.shouldContinue() {
                        index += 1
                        let answer = try? await harness.client.post(
                            harness.target("/tasks", key: key),
                            json: TaskdHarness.taskBody(name: "load-\(client)-\(index)", type: "gx.tiny"))
                        if let answer, answer.status == 201, let task = try? answer.jsonObject()["task"],
                            let id = try? WireTask(json: task).id
                        {
                            await self.record(id)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
