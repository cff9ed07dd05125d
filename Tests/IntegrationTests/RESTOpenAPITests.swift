import Foundation
import Testing

import Glibc

/// The OpenAPI document (`openapi/openapi.yaml`) against the implementation: for every documented operation and
/// status, a request that should produce it does, through nginx, with the documented kind of body.
@Suite("OpenAPI document matches the REST API", .serialized, .timeLimit(.minutes(1)))
struct RESTOpenAPITests {
    struct DocumentedResponse: CustomStringConvertible {
        var method: String
        var path: String
        var status: Int
        var isJSON: Bool

        var description: String { "\(method.uppercased()) \(path) \(status)" }
    }

    @Test func everyDocumentedStatusIsWhatTheImplementationAnswers() async throws {
        let responses = try Self.documentedResponses()
        #expect(responses.count >= 20, "the document describes only \(responses.count) responses")
        var options = TaskdHarness.Options()
        options.slots = 1
        options.timeScale = 1
        options.maxTasks = 10
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            var scenarios = Scenarios(harness: harness, key: key)
            for response in responses.sorted(by: { ($0.path, $0.method, $0.status) < ($1.path, $1.method, $1.status) })
            {
                guard let answer = try await scenarios.answer(for: response) else { continue }
                #expect(answer.status == response.status, "\(response): got \(answer)")
                if response.isJSON {
                    #expect(
                        answer.header("Content-Type")?.hasPrefix("application/json") == true, "\(response): \(answer)")
                    let object = try? answer.jsonObject()
                    #expect(object != nil, "\(response): the body is a JSON object")
                    if response.status >= 400 {
                        #expect(object?["code"] is String && object?["message"] is String, "\(response): \(answer)")
                    }
                } else if response.status == 204 {
                    #expect(answer.body.isEmpty, "\(response): 204 has no body")
                }
            }
        }
    }

    /// Requests that provoke each status. Returns nil for what cannot be provoked from outside (500) or belongs to
    /// the WebSocket sidecar's own tests (`/ws/tasks`).
    struct Scenarios {
        let harness: TaskdHarness
        let key: String
        private var fullWorkspace = false

        init(harness: TaskdHarness, key: String) {
            self.harness = harness
            self.key = key
        }

        mutating func answer(for response: DocumentedResponse) async throws -> HTTPAnswer? {
            let method = response.method.uppercased()
            if response.status == 500 { return nil }
            if response.path.hasPrefix("/ws/") { return try await webSocketAnswer(for: response) }
            let client = harness.client
            let body = TaskdHarness.taskBody(name: "openapi", type: "gx.tiny")
            switch response.status {
            case 200, 201, 204:
                if method == "OPTIONS" {
                    return try await client.request(
                        "OPTIONS", concretePath(response.path, id: 1),
                        headers: [("Origin", "https://x.example"), ("Access-Control-Request-Method", "POST")])
                }
                if method == "DELETE" {
                    let id = try await queuedTask()
                    return try await client.delete(harness.target(concretePath(response.path, id: id), key: key))
                }
                if response.path.hasPrefix("/openapi") { return try await client.get(response.path) }
                return try await send(method, response.path, key: key, body: method == "POST" ? body : nil)
            case 400:
                return try await client.request(
                    method, harness.target(concretePath(response.path, id: 1), key: key, workspace: "not valid"),
                    headers: [("Content-Type", "application/json")], body: method == "POST" ? Array(body.utf8) : nil)
            case 401:
                return try await send(method, response.path, key: nil, body: method == "POST" ? body : nil)
            case 404:
                return try await send(method, concretePath(response.path, id: 999_999), key: key, body: nil)
            case 405:
                return try await send(method, response.path, key: key, body: nil)
            case 409:
                let id = try await startedTask()
                return try await client.delete(harness.target(concretePath(response.path, id: id), key: key))
            case 413:
                let big = #"{"name":"big","type":"gx.tiny"}"# + String(repeating: " ", count: 70_000)
                return try await send(method, response.path, key: key, body: big)
            case 415:
                return try await client.request(
                    method, harness.target(concretePath(response.path, id: 1), key: key),
                    headers: [("Content-Type", "text/plain")], body: Array(body.utf8))
            case 429:
                try await fillWorkspace()
                return try await client.request(
                    method, harness.target(concretePath(response.path, id: 1), key: key, workspace: "full"),
                    headers: [("Content-Type", "application/json")], body: Array(body.utf8))
            case 503:
                // A workspace whose journal is damaged is unavailable, for reads and writes alike (the full-disk
                // and busy-workspace cases are RESTErrorTests').
                let target = harness.target(concretePath(response.path, id: 1), key: key, workspace: "damaged")
                try await damageWorkspace()
                return try await client.request(
                    method, target, headers: method == "POST" ? [("Content-Type", "application/json")] : [],
                    body: method == "POST" ? Array(body.utf8) : nil)
            default:
                Issue.record("No scenario provokes \(response); add one to RESTOpenAPITests")
                return nil
            }
        }

        /// The sidecar's answers before an upgrade (an upgraded connection and its 429 are WebSocketTests' business).
        private func webSocketAnswer(for response: DocumentedResponse) async throws -> HTTPAnswer? {
            guard harness.options.startWebSocket else { return nil }
            let upgrade = [
                ("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ]
            switch response.status {
            case 400:
                return try await harness.client.get(
                    harness.target(response.path, key: key, workspace: "not valid"), headers: upgrade)
            case 401:
                return try await harness.client.get(harness.target(response.path, key: nil), headers: upgrade)
            case 426:
                return try await harness.client.get(harness.target(response.path, key: key))
            default:
                return nil
            }
        }

        private func send(_ method: String, _ path: String, key: String?, body: String?) async throws -> HTTPAnswer {
            let target = harness.target(concretePath(path, id: 1), key: key)
            return try await harness.client.request(
                method, target, headers: body == nil ? [] : [("Content-Type", "application/json")],
                body: body.map { Array($0.utf8) })
        }

        private func concretePath(_ path: String, id: Int) -> String {
            path.replacingOccurrences(of: #"\{[^}]+\}"#, with: "\(id)", options: .regularExpression)
        }

        /// A task that is queued behind a long one (slots = 1, real-time durations).
        private func queuedTask() async throws -> Int {
            _ = try await startedTask()
            return try await harness.createTask(key: key, type: "gx.heavy").id
        }

        /// A running task: the one already holding the only slot, or a new one.
        private func startedTask() async throws -> Int {
            if let running = try await harness.listTasks(key: key).first(where: { $0.status == "running" }) {
                return running.id
            }
            let task = try await harness.createTask(key: key, type: "gx.heavy")
            try await harness.waitForStatus("running", of: task.id, key: key)
            return task.id
        }

        /// Creates the workspace `damaged`, then cuts its journal to half a header: its files say nothing usable.
        private func damageWorkspace() async throws {
            let workspaces = harness.stateDirectory.appendingPathComponent("workspaces")
            let files = FileManager.default.enumerator(atPath: workspaces.path)
            while let relative = files?.nextObject() as? String {
                if relative.hasSuffix("/damaged/journal.log") { return }
            }
            _ = try await harness.createTask(key: key, workspace: "damaged", type: "gx.heavy")
            let all = FileManager.default.enumerator(atPath: workspaces.path)
            while let relative = all?.nextObject() as? String {
                guard relative.hasSuffix("/damaged/journal.log") else { continue }
                try Data("{\"crc\":\"".utf8).write(to: workspaces.appendingPathComponent(relative))
                return
            }
            throw HarnessError("no journal for the workspace 'damaged'")
        }

        private mutating func fillWorkspace() async throws {
            guard !fullWorkspace else { return }
            for _ in 0..<(harness.options.maxTasks ?? 10) {
                _ = try await harness.createTask(key: key, workspace: "full", type: "gx.heavy")
            }
            fullWorkspace = true
        }
    }

    /// Every (method, path, status) the document lists, read with Python's YAML parser (python3-yaml).
    static func documentedResponses() throws -> [DocumentedResponse] {
        let document = PackagePaths.openAPIDirectory.appendingPathComponent("openapi.yaml")
        let json = try yamlAsJSON(document)
        guard let root = try JSONSerialization.jsonObject(with: json) as? [String: Any],
            let version = root["openapi"] as? String, let paths = root["paths"] as? [String: Any]
        else {
            throw HarnessError("openapi.yaml has no `openapi` version or `paths`")
        }
        #expect(version.hasPrefix("3.1"), "OpenAPI 3.1, got \(version)")
        var responses: [DocumentedResponse] = []
        for (path, item) in paths {
            guard let item = item as? [String: Any] else { continue }
            for (method, operation) in item {
                guard ["get", "post", "put", "delete", "patch", "options"].contains(method),
                    let operation = operation as? [String: Any],
                    let documented = operation["responses"] as? [String: Any]
                else { continue }
                for (status, response) in documented {
                    guard let code = Int(status) else { continue }
                    let content = ((response as? [String: Any])?["content"] as? [String: Any]) ?? [:]
                    let isJSON = content.keys.contains { $0.hasPrefix("application/json") }
                    responses.append(DocumentedResponse(method: method, path: path, status: code, isJSON: isJSON))
                }
            }
        }
        return responses
    }

    private static func yamlAsJSON(_ file: URL) throws -> Data {
        let script =
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1], encoding='utf-8')), sys.stdout)"
        for interpreter in ["/usr/bin/python3", "/usr/local/bin/python3"]
        where FileManager.default.isExecutableFile(atPath: interpreter) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: interpreter)
            process.arguments = ["-c", script, file.path]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            if process.terminationStatus == 0 { return data }
        }
        throw HarnessError("Cannot parse \(file.lastPathComponent): python3 with PyYAML (python3-yaml) is required")
    }
}
