import Foundation
import Testing

/// Every row of the contract's error table, through nginx: the status, the code, a message, JSON and CORS.
@Suite("REST errors through nginx", .serialized, .timeLimit(.minutes(1)))
struct RESTErrorTests {
    @Test func aMissingEmptyOrUnknownKeyIsUnauthorized() async throws {
        try await TaskdHarness.with { harness in
            _ = try harness.issueKey()
            for target in ["/tasks", "/tasks?api_key=", "/tasks?api_key=tk_not_a_key", "/tasks?workspace_id=default"] {
                expectError(try await harness.client.get(target), status: 401, code: "unauthorized")
                expectError(
                    try await harness.client.post(target, json: #"{"name":"a","type":"gx.tiny"}"#),
                    status: 401, code: "unauthorized")
                expectError(
                    try await harness.client.delete(target.replacingOccurrences(of: "/tasks", with: "/tasks/1")),
                    status: 401, code: "unauthorized")
            }
            // Nothing about the workspace leaks before the key is checked: a bad workspace is still a 401.
            expectError(try await harness.client.get("/tasks?workspace_id=%20bad"), status: 401, code: "unauthorized")
        }
    }

    @Test func aBadWorkspaceIDIsABadRequest() async throws {
        try await TaskdHarness.with { harness in
            let key = try harness.issueKey()
            for workspace in ["", "has space", String(repeating: "w", count: 65), "caf\u{00e9}", "a/b", "a.b"] {
                let answer = try await harness.client.get(harness.target("/tasks", key: key, workspace: workspace))
                expectError(answer, status: 400, code: "invalid_request")
                #expect(answer.text.contains("workspace_id"), "the message names the parameter: \(answer)")
            }
            // `A-z` admits `[ \ ] ^ _` and the backtick; 64 characters is the limit.
            for workspace in ["a[b]^_`", String(repeating: "w", count: 64), "Team-1_x"] {
                let answer = try await harness.client.get(harness.target("/tasks", key: key, workspace: workspace))
                #expect(answer.status == 200, "\(workspace): \(answer)")
            }
        }
    }

    @Test func aBadBodyIsABadRequest() async throws {
        try await TaskdHarness.with { harness in
            let key = try harness.issueKey()
            let bodies = [
                "", "not json", "[]", "42", #""text""#, "{}", #"{"name":"a"}"#, #"{"type":"gx.tiny"}"#,
                #"{"name":"","type":"gx.tiny"}"#, #"{"name":"   ","type":"gx.tiny"}"#, #"{"name":7,"type":"gx.tiny"}"#,
                #"{"name":"a","type":"gx.huge"}"#, #"{"name":"a","type":null}"#,
                #"{"name":"\#(String(repeating: "n", count: 257))","type":"gx.tiny"}"#,
            ]
            for body in bodies {
                let answer = try await harness.client.post(harness.target("/tasks", key: key), json: body)
                expectError(answer, status: 400, code: "invalid_request")
            }
            let badType = try await harness.client.post(
                harness.target("/tasks", key: key), json: #"{"name":"a","type":"gx.huge"}"#)
            for type in ["gx.tiny", "gx.micro", "gx.small", "gx.medium", "gx.large", "gx.heavy"] {
                #expect(badType.text.contains(type), "the message lists the allowed types: \(badType)")
            }
            #expect(try await harness.listTasks(key: key).isEmpty, "nothing was created")
        }
    }

    @Test func anUnknownPathIsNotFound() async throws {
        try await TaskdHarness.with { harness in
            let key = try harness.issueKey()
            // `/` is the dashboard; a file it does not have is a JSON 404 like any other unknown path.
            for path in ["/tasks/1/extra", "/tasksfoo", "/tasks/flush/now", "/nothing-here", "/missing.js"] {
                expectError(
                    try await harness.client.get(harness.target(path, key: key)), status: 404, code: "not_found")
            }
        }
    }

    @Test func aKnownPathWithAnotherMethodIsNotAllowedWithAllow() async throws {
        try await TaskdHarness.with { harness in
            let key = try harness.issueKey()
            let cases: [(method: String, path: String, allowed: String)] = [
                ("PUT", "/tasks", "POST"), ("DELETE", "/tasks", "GET"), ("PATCH", "/tasks/1", "DELETE"),
                ("GET", "/tasks/1", "DELETE"), ("GET", "/tasks/flush", "POST"), ("PUT", "/tasks/flush", "POST"),
            ]
            for item in cases {
                let answer = try await harness.client.request(item.method, harness.target(item.path, key: key))
                expectError(answer, status: 405, code: "method_not_allowed")
                let allow = answer.header("Allow") ?? ""
                #expect(allow.contains(item.allowed), "\(item.method) \(item.path): Allow is '\(allow)'")
            }
        }
    }

    @Test func aBodyOver64KiBIsTooLargeFromTheResponderAndFromNginx() async throws {
        try await TaskdHarness.with { harness in
            let key = try harness.issueKey()
            // Exactly 64 KiB is accepted (padding with white space keeps it valid JSON)...
            let prefix = #"{"name":"big","type":"gx.tiny"}"#
            let exact = prefix + String(repeating: " ", count: 65_536 - prefix.utf8.count)
            let accepted = try await harness.client.post(harness.target("/tasks", key: key), json: exact)
            #expect(accepted.status == 201, "\(accepted)")
            // ...one byte more is answered 413 by the responder (nginx lets up to 1 MiB through)...
            let over = try await harness.client.post(harness.target("/tasks", key: key), json: exact + " ")
            expectError(over, status: 413, code: "payload_too_large")
            let nearNginxLimit = try await harness.client.post(
                harness.target("/tasks", key: key), json: prefix + String(repeating: " ", count: 1_000_000))
            expectError(nearNginxLimit, status: 413, code: "payload_too_large")
            // ...and beyond nginx's client_max_body_size by nginx itself, as the same JSON.
            let huge = try await harness.client.post(
                harness.target("/tasks", key: key), json: prefix + String(repeating: " ", count: 2_000_000))
            expectError(huge, status: 413, code: "payload_too_large")
        }
    }

    @Test func aBodyThatIsNotJSONByContentTypeIsUnsupported() async throws {
        try await TaskdHarness.with { harness in
            let key = try harness.issueKey()
            let body = Array(#"{"name":"a","type":"gx.tiny"}"#.utf8)
            for contentType in ["text/plain", "application/x-www-form-urlencoded", "application/xml"] {
                let answer = try await harness.client.request(
                    "POST", harness.target("/tasks", key: key), headers: [("Content-Type", contentType)], body: body)
                expectError(answer, status: 415, code: "unsupported_media_type")
            }
            for contentType in ["application/json; charset=utf-8", "Application/JSON"] {
                let answer = try await harness.client.request(
                    "POST", harness.target("/tasks", key: key), headers: [("Content-Type", contentType)], body: body)
                #expect(answer.status == 201, "\(contentType): \(answer)")
            }
            // A missing Content-Type is read as JSON.
            let bare = try await harness.client.request("POST", harness.target("/tasks", key: key), body: body)
            #expect(bare.status == 201, "\(bare)")
        }
    }

    @Test func limitsOnTasksAndWorkspacesAnswer429() async throws {
        var options = TaskdHarness.Options()
        options.maxTasks = 3
        options.maxWorkspaces = 2
        options.timeScale = 1
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            for _ in 0..<3 { _ = try await harness.createTask(key: key, workspace: "one") }
            let fourth = try await harness.client.post(
                harness.target("/tasks", key: key, workspace: "one"),
                json: TaskdHarness.taskBody(name: "x", type: "gx.tiny"))
            expectError(fourth, status: 429, code: "limit_exceeded")
            _ = try await harness.createTask(key: key, workspace: "two")
            let third = try await harness.client.post(
                harness.target("/tasks", key: key, workspace: "three"),
                json: TaskdHarness.taskBody(name: "x", type: "gx.tiny"))
            expectError(third, status: 429, code: "limit_exceeded")
            // Reading an unused workspace creates nothing and is not limited.
            #expect(try await harness.listTasks(key: key, workspace: "four").isEmpty)
        }
    }

    @Test func nginxRateLimitAnswers429AsJSON() async throws {
        var options = TaskdHarness.Options()
        options.rateLimit = "1r/m"
        options.rateBurst = 1
        try await TaskdHarness.with(options) { harness in
            // One request a minute plus a burst of one: by the third request (the readiness probe may have used some),
            // this address is over the limit.
            var answers: [HTTPAnswer] = []
            for _ in 0..<3 { answers.append(try await harness.client.get("/tasks")) }
            guard let limited = answers.first(where: { $0.status == 429 }) else {
                Issue.record("no 429 among \(answers)")
                return
            }
            expectError(limited, status: 429, code: "limit_exceeded")
        }
    }

    @Test func aFullStateDirectoryAnswers503AndKeepsServing() async throws {
        // A full file system is the honest way to get ENOSPC; mounting a small one needs root. Where the tests do
        // not run as root, this row is covered by TaskStoreTests (an injected ENOSPC) only.
        guard geteuid() == 0 else { return }
        var options = TaskdHarness.Options()
        options.stateOnTmpfs = true
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let first = try await harness.createTask(key: key)
            try harness.fillState(true)
            // A journal append may still fit in the page its file already has; keep writing until the disk says no.
            var acknowledged: [Int] = []
            var refusal: HTTPAnswer?
            for _ in 0..<200 {
                let answer = try await harness.client.post(
                    harness.target("/tasks", key: key), json: TaskdHarness.taskBody(name: "x", type: "gx.tiny"))
                guard answer.status == 201 else {
                    refusal = answer
                    break
                }
                let task = try #require(try answer.jsonObject()["task"])
                acknowledged.append(try WireTask(json: task).id)
            }
            let answer = try #require(refusal, "the full disk never refused a create")
            expectError(answer, status: 503, code: "unavailable")
            #expect(answer.header("Retry-After") == "5")
            // Reads still work, every acknowledged create is there, and the refused one is not, not even in part.
            #expect(try await harness.listTasks(key: key).map(\.id) == [first.id] + acknowledged)
            try harness.fillState(false)
            let next = try await harness.createTask(key: key)
            #expect(next.id == (acknowledged.last ?? first.id) + 1)
        }
    }
}
