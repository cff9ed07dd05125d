import Foundation
import Testing

/// Every REST endpoint through real nginx and the real taskd-fcgi.
@Suite("REST endpoints through nginx", .serialized, .timeLimit(.minutes(1)))
struct RESTEndpointTests {
    @Test func listingAnUnusedWorkspaceGivesAnEmptyList() async throws {
        try await TaskdHarness.with { harness in
            let key = try harness.issueKey()
            let answer = try await harness.client.get(harness.target("/tasks", key: key, workspace: "never-used"))
            #expect(answer.status == 200, "\(answer)")
            #expect(answer.text == #"{"tasks":[]}"#)
            #expect(answer.header("Content-Type") == "application/json; charset=utf-8")
            #expect(answer.header("Access-Control-Allow-Origin") == "*")
        }
    }

    @Test func creatingATaskAnswers201WithTheQueuedTask() async throws {
        try await TaskdHarness.with { harness in
            let key = try harness.issueKey()
            let answer = try await harness.client.post(
                harness.target("/tasks", key: key), json: #"{"name":"abc","type":"gx.tiny","extra":[1,2]}"#)
            #expect(answer.status == 201, "\(answer)")
            #expect(answer.text == #"{"task":{"id":1,"name":"abc","type":"gx.tiny","status":"queued"}}"#)
            #expect(answer.header("Content-Type") == "application/json; charset=utf-8")
            #expect(answer.header("Content-Length") == "\(answer.body.count)")
            let second = try await harness.createTask(key: key, name: "  spaced  \u{00e9}\u{1F680}", type: "gx.heavy")
            #expect(second.id == 2)
            #expect(second.name == "  spaced  \u{00e9}\u{1F680}", "names are stored exactly as sent")
        }
    }

    @Test func everyTypeIsAcceptedAndListsAreOrderedByID() async throws {
        try await TaskdHarness.with { harness in
            let key = try harness.issueKey()
            let types = ["gx.tiny", "gx.micro", "gx.small", "gx.medium", "gx.large", "gx.heavy"]
            for (index, type) in types.enumerated() {
                let task = try await harness.createTask(key: key, workspace: "types", name: "t\(index)", type: type)
                #expect(task.id == index + 1)
                #expect(task.type == type)
            }
            let tasks = try await harness.listTasks(key: key, workspace: "types")
            #expect(tasks.map(\.id) == Array(1...6))
            #expect(tasks.map(\.type) == types)
        }
    }

    @Test func tasksMoveFromQueuedToRunningToCompleted() async throws {
        var options = TaskdHarness.Options()
        // gx.tiny: 600–1,800 ms, so that a poll delayed on a loaded machine still finds it running.
        options.timeScale = 0.4
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let task = try await harness.createTask(key: key, type: "gx.tiny")
            #expect(task.status == "queued")
            try await harness.waitForStatus("running", of: task.id, key: key)
            try await harness.waitForStatus("completed", of: task.id, key: key)
        }
    }

    @Test func deletingAQueuedTaskAnswers204AndRemovesIt() async throws {
        var options = TaskdHarness.Options()
        options.slots = 1
        options.timeScale = 1
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let running = try await harness.createTask(key: key, type: "gx.heavy")
            let queued = try await harness.createTask(key: key, type: "gx.tiny")
            let answer = try await harness.client.delete(harness.target("/tasks/\(queued.id)", key: key))
            #expect(answer.status == 204, "\(answer)")
            #expect(answer.body.isEmpty)
            #expect(answer.header("Content-Type") == nil)
            #expect(answer.header("Access-Control-Allow-Origin") == "*")
            let tasks = try await harness.listTasks(key: key)
            #expect(tasks.map(\.id) == [running.id])
            // Ids are never reused, not after a delete.
            let next = try await harness.createTask(key: key)
            #expect(next.id == 3)
        }
    }

    @Test func deletingARunningOrCompletedTaskIsAConflict() async throws {
        var options = TaskdHarness.Options()
        options.slots = 1
        options.timeScale = 1
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let task = try await harness.createTask(key: key, type: "gx.heavy")
            try await harness.waitForStatus("running", of: task.id, key: key)
            let answer = try await harness.client.delete(harness.target("/tasks/\(task.id)", key: key))
            expectError(answer, status: 409, code: "conflict")
        }
        options.timeScale = 0.001
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let task = try await harness.createTask(key: key, type: "gx.tiny")
            try await harness.waitForStatus("completed", of: task.id, key: key)
            let answer = try await harness.client.delete(harness.target("/tasks/\(task.id)", key: key))
            expectError(answer, status: 409, code: "conflict")
        }
    }

    @Test func deletingAMissingTaskIsNotFoundAndABadIDIsABadRequest() async throws {
        try await TaskdHarness.with { harness in
            let key = try harness.issueKey()
            expectError(
                try await harness.client.delete(harness.target("/tasks/42", key: key)), status: 404, code: "not_found")
            for bad in ["abc", "0", "-1", "1.5", "99999999999999999999999"] {
                let answer = try await harness.client.delete(harness.target("/tasks/\(bad)", key: key))
                expectError(answer, status: 400, code: "invalid_request")
            }
        }
    }

    @Test func flushRemovesDispatchedTasksAndKeepsQueuedOnes() async throws {
        var options = TaskdHarness.Options()
        options.slots = 1
        options.timeScale = 1
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let running = try await harness.createTask(key: key, type: "gx.heavy")
            let queued = try await harness.createTask(key: key, type: "gx.heavy")
            try await harness.waitForStatus("running", of: running.id, key: key)
            let answer = try await harness.client.request("POST", harness.target("/tasks/flush", key: key))
            #expect(answer.status == 204, "\(answer)")
            #expect(answer.body.isEmpty)
            #expect(answer.header("Access-Control-Allow-Origin") == "*")
            let tasks = try await harness.listTasks(key: key)
            #expect(tasks.map(\.id) == [queued.id])
            // The flush freed the slot: the queued task starts at once.
            try await harness.waitForStatus("running", of: queued.id, key: key)
            // Nothing left to remove is still a 204.
            let empty = try await harness.client.request(
                "POST", harness.target("/tasks/flush", key: key, workspace: "idle"))
            #expect(empty.status == 204, "\(empty)")
        }
    }

    @Test func twoTenantsUsingTheSameWorkspaceNeverSeeEachOther() async throws {
        var options = TaskdHarness.Options()
        options.slots = 1
        options.timeScale = 1
        try await TaskdHarness.with(options) { harness in
            let acme = try harness.issueKey(tenant: "acme")
            let globex = try harness.issueKey(tenant: "globex")
            let acmeTask = try await harness.createTask(key: acme, name: "acme-1", type: "gx.heavy")
            _ = try await harness.createTask(key: acme, name: "acme-2", type: "gx.heavy")
            let globexTask = try await harness.createTask(key: globex, name: "globex-1", type: "gx.heavy")
            #expect(acmeTask.id == 1)
            #expect(globexTask.id == 1, "each tenant's default workspace numbers its own tasks")
            #expect(try await harness.listTasks(key: acme).map(\.name) == ["acme-1", "acme-2"])
            #expect(try await harness.listTasks(key: globex).map(\.name) == ["globex-1"])
            #expect(try await harness.listTasks(key: globex, workspace: "default").map(\.name) == ["globex-1"])
            // Globex cannot delete or flush acme's tasks: task 2 exists only for acme.
            let delete = try await harness.client.delete(harness.target("/tasks/2", key: globex))
            expectError(delete, status: 404, code: "not_found")
            _ = try await harness.client.request("POST", harness.target("/tasks/flush", key: globex))
            #expect(try await harness.listTasks(key: acme).count == 2)
        }
    }
}
