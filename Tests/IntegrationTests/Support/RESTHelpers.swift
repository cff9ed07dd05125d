import Foundation
import Testing

/// A task as the tests read it back from JSON.
struct WireTask: Equatable, Sendable {
    var id: Int
    var name: String
    var type: String
    var status: String

    init(id: Int, name: String, type: String, status: String) {
        self.id = id
        self.name = name
        self.type = type
        self.status = status
    }

    init(json: Any) throws {
        guard let object = json as? [String: Any], let id = object["id"] as? Int, let name = object["name"] as? String,
            let type = object["type"] as? String, let status = object["status"] as? String, object.count == 4
        else {
            throw HarnessError("Not a task: \(json)")
        }
        self.init(id: id, name: name, type: type, status: status)
    }
}

extension TaskdHarness {
    /// `GET /tasks`, expecting a 200, decoded.
    func listTasks(key: String, workspace: String? = nil) async throws -> [WireTask] {
        let answer = try await client.get(target("/tasks", key: key, workspace: workspace))
        guard answer.status == 200, let tasks = try answer.jsonObject()["tasks"] as? [Any] else {
            throw HarnessError("GET /tasks failed: \(answer)")
        }
        return try tasks.map(WireTask.init(json:))
    }

    /// `POST /tasks`, expecting a 201, decoded.
    func createTask(key: String, workspace: String? = nil, name: String = "job", type: String = "gx.tiny")
        async throws -> WireTask
    {
        let answer = try await client.post(
            target("/tasks", key: key, workspace: workspace), json: Self.taskBody(name: name, type: type))
        guard answer.status == 201, let task = try answer.jsonObject()["task"] else {
            throw HarnessError("POST /tasks failed: \(answer)")
        }
        return try WireTask(json: task)
    }

    static func taskBody(name: String, type: String) -> String {
        let object: [String: String] = ["name": name, "type": type]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Waits until the task shows `status` (tasks move with the clock).
    func waitForStatus(_ status: String, of id: Int, key: String, workspace: String? = nil) async throws {
        try await waitUntil("task \(id) to be \(status)") {
            try await self.listTasks(key: key, workspace: workspace).first { $0.id == id }?.status == status
        }
    }
}

/// Checks what every JSON error answer of taskd must look like: the status, the code, a message, CORS, JSON.
func expectError(
    _ answer: HTTPAnswer, status: Int, code: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(answer.status == status, "\(answer)", sourceLocation: sourceLocation)
    #expect(answer.errorCode == code, "\(answer)", sourceLocation: sourceLocation)
    let message = (try? answer.jsonObject())?["message"] as? String
    #expect(message?.isEmpty == false, "an error needs a message: \(answer)", sourceLocation: sourceLocation)
    #expect(answer.header("Content-Type")?.hasPrefix("application/json") == true, "\(answer)", sourceLocation: sourceLocation)
    #expect(answer.header("Access-Control-Allow-Origin") != nil, "CORS on errors too: \(answer)", sourceLocation: sourceLocation)
}
