import Foundation
import Testing

@testable import TaskCore

struct WireFormatTests {
    private func record(_ id: Int64, _ name: String, _ type: TaskType, _ status: TaskStatus) throws -> TaskRecord {
        TaskRecord(
            id: try #require(TaskID(rawValue: id)), name: try TaskName(parsing: name), type: type, status: status)
    }

    @Test func createAnswerMatchesTheAPIDocumentByteForByte() throws {
        let bytes = WireFormat.taskEnvelope(try record(3, "abc", .tiny, .queued))
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == #"{"task":{"id":3,"name":"abc","type":"gx.tiny","status":"queued"}}"#)
    }

    @Test func listAnswerMatchesTheAPIDocumentByteForByte() throws {
        let bytes = WireFormat.tasksEnvelope([try record(3, "abc", .tiny, .running)])
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == #"{"tasks":[{"id":3,"name":"abc","type":"gx.tiny","status":"running"}]}"#)
    }

    @Test func streamLinesAreBareArrays() throws {
        #expect(String(decoding: WireFormat.taskList([]), as: UTF8.self) == "[]")
        let line = WireFormat.taskList([try record(2, "abc", .tiny, .running), try record(5, "d", .heavy, .completed)])
        #expect(
            String(decoding: line, as: UTF8.self)
                == #"[{"id":2,"name":"abc","type":"gx.tiny","status":"running"},{"id":5,"name":"d","type":"gx.heavy","status":"completed"}]"#
        )
    }

    @Test func stringsAreEscapedAsJSONRequiresAndNoMore() {
        var bytes: [UInt8] = []
        WireFormat.appendString("a\"b\\c/d\n\r\t\u{08}\u{0C}\u{01}\u{1F}é😀\u{7F}", to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == #""a\"b\\c/d\n\r\t\b\f\u0001\u001fé😀"# + "\u{7F}\"")
    }

    @Test func errorBodyHasCodeThenMessage() {
        let body = WireFormat.error(code: "invalid_request", message: "Parameter 'workspace_id' is \"bad\".")
        #expect(
            String(decoding: body, as: UTF8.self)
                == #"{"code":"invalid_request","message":"Parameter 'workspace_id' is \"bad\"."}"#)
    }

    @Test func randomNamesSurviveARoundTripThroughAStandardParser() throws {
        var generator = SeededGenerator(seed: 99)
        let alphabet: [Character] = [
            "a", "\"", "\\", "/", "\n", "\u{0}", "\u{1B}", "é", "😀", " ", "\u{2028}", "}", "[",
        ]
        for _ in 0..<500 {
            let length = Int.random(in: 1...40, using: &generator)
            var name = String((0..<length).map { _ in alphabet.randomElement(using: &generator) ?? "a" })
            if name.allSatisfy(\.isWhitespace) { name += "x" }
            let task = try record(Int64.random(in: 1...1_000_000, using: &generator), name, .micro, .running)
            let object = try JSONSerialization.jsonObject(with: Data(WireFormat.task(task))) as? [String: Any]
            #expect(object?["name"] as? String == name)
            #expect((object?["id"] as? NSNumber)?.int64Value == task.id.rawValue)
        }
    }

    @Test func storedDocumentsRoundTripWithSortedKeys() throws {
        let task = StoredTask(
            id: try #require(TaskID(rawValue: 1)), name: try TaskName(parsing: "a/b"), type: .small,
            createdAt: Timestamp(rawValue: 10), durationMilliseconds: 5_000, startedAt: Timestamp(rawValue: 11))
        let state = WorkspaceState(nextID: 2, sequence: 1, asOf: Timestamp(rawValue: 12), tasks: [task])
        let bytes = try WireFormat.encode(state)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"as_of":12,"next_id":2,"seq":1,"tasks":[{"created_at":10,"duration_ms":5000"#))
        #expect(text.contains("a/b"))
        #expect(try WireFormat.decode(WorkspaceState.self, from: bytes) == state)
    }

    @Test func documentsWithInvalidValuesDoNotDecode() {
        let badID =
            #"{"as_of":0,"next_id":2,"seq":1,"tasks":[{"created_at":0,"duration_ms":5,"id":0,"name":"a","type":"gx.tiny"}]}"#
        #expect(throws: (any Error).self) { try WireFormat.decode(WorkspaceState.self, from: Array(badID.utf8)) }
        let badType =
            #"{"as_of":0,"next_id":2,"seq":1,"tasks":[{"created_at":0,"duration_ms":5,"id":1,"name":"a","type":"gx.x"}]}"#
        #expect(throws: (any Error).self) { try WireFormat.decode(WorkspaceState.self, from: Array(badType.utf8)) }
        #expect(throws: (any Error).self) {
            try WireFormat.decode(WorkspaceState.self, from: Array(#"{"as_of":0"#.utf8))
        }
    }
}
