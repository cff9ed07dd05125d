import Foundation
import Testing

@testable import TaskCore

struct WorkspaceDocumentTests {
    private func sampleState(_ generator: inout SeededGenerator, count: Int) throws -> WorkspaceState {
        let names = [
            "abc", "a \"quoted\" name", "back\\slash", "line\nbreak", "日本語", "😀 emoji", "tab\there", "\u{1}ctl",
        ]
        var tasks: [StoredTask] = []
        for id in 1...max(1, count) where count > 0 {
            tasks.append(
                StoredTask(
                    id: try #require(TaskID(rawValue: Int64(id * 2))),
                    name: try TaskName(parsing: names.randomElement(using: &generator) ?? "x"),
                    type: TaskType.allCases.randomElement(using: &generator) ?? .tiny,
                    createdAt: Timestamp(rawValue: Int64.random(in: 0...2_000_000_000_000, using: &generator)),
                    durationMilliseconds: Int64.random(in: 2...450_000, using: &generator),
                    startedAt: Bool.random(using: &generator)
                        ? Timestamp(rawValue: Int64.random(in: 0...2_000_000_000_000, using: &generator)) : nil))
        }
        return WorkspaceState(
            nextID: Int64(count * 2 + 1), sequence: UInt64.random(in: 0...1_000_000, using: &generator),
            asOf: Timestamp(rawValue: Int64.random(in: 0...2_000_000_000_000, using: &generator)), tasks: tasks)
    }

    @Test func documentsRoundTrip() throws {
        var generator = SeededGenerator(seed: 3)
        for count in [0, 1, 2, 17, 300] {
            let state = try sampleState(&generator, count: count)
            #expect(try WireFormat.decodeWorkspaceDocument(WireFormat.workspaceDocument(state)) == state)
        }
    }

    @Test func handWrittenBytesAreWhatTheSharedEncoderWouldWrite() throws {
        var generator = SeededGenerator(seed: 4)
        let state = try sampleState(&generator, count: 25)
        let viaCodable = try JSONSerialization.jsonObject(with: Data(WireFormat.encode(state))) as? NSDictionary
        let handWritten =
            try JSONSerialization.jsonObject(with: Data(WireFormat.workspaceDocument(state))) as? NSDictionary
        #expect(viaCodable != nil && viaCodable == handWritten)
        #expect(try WireFormat.decode(WorkspaceState.self, from: WireFormat.workspaceDocument(state)) == state)
    }

    @Test func readsDocumentsReformattedByOtherTools() throws {
        let text = """
            {
              "tasks": [ { "type": "gx.tiny", "name": "a\\u00e9\\ud83d\\ude00\\/", "id": 4, "duration_ms": 10,
                           "created_at": 7, "started_at": null, "note": {"x": [1, 2.5e3, true, false, null]} } ],
              "seq": 3, "next_id": 5, "as_of": 9, "comment": "kept by a newer version"
            }
            """
        let state = try WireFormat.decodeWorkspaceDocument(Array(text.utf8))
        #expect(state.asOf.rawValue == 9 && state.nextID == 5 && state.sequence == 3)
        #expect(state.tasks.first?.name.rawValue == "aé😀/")
        #expect(state.tasks.first?.startedAt == nil)
    }

    @Test(arguments: [
        "", "{", "[]", "null", #"{"as_of":1}"#,
        #"{"as_of":1,"next_id":1,"seq":0,"tasks":[]} x"#,
        #"{"as_of":1,"next_id":1,"seq":0,"tasks":[{"id":1}]}"#,
        #"{"as_of":1.5,"next_id":1,"seq":0,"tasks":[]}"#,
        #"{"as_of":1,"next_id":3,"seq":0,"tasks":[{"created_at":1,"duration_ms":5,"id":2,"name":"a","type":"gx.tiny"},{"created_at":1,"duration_ms":5,"id":1,"name":"a","type":"gx.tiny"}]}"#,
        #"{"as_of":1,"next_id":2,"seq":0,"tasks":[{"created_at":1,"duration_ms":5,"id":2,"name":"a","type":"gx.tiny"}]}"#,
        #"{"as_of":1,"next_id":3,"seq":0,"tasks":[{"created_at":1,"duration_ms":5,"id":1,"name":" ","type":"gx.tiny"}]}"#,
        #"{"as_of":1,"next_id":3,"seq":0,"tasks":[{"created_at":1,"duration_ms":5,"id":1,"name":"a","type":"gx.nope"}]}"#,
        #"{"as_of":1,"next_id":3,"seq":0,"tasks":[{"created_at":1,"duration_ms":0,"id":1,"name":"a","type":"gx.tiny"}]}"#,
        #"{"as_of":1,"next_id":3,"seq":0,"tasks":[{"created_at":1,"duration_ms":5,"id":1,"name":"\ud800","type":"gx.tiny"}]}"#,
        #"{"as_of":99999999999999999999,"next_id":1,"seq":0,"tasks":[]}"#,
        "{\"as_of\":1,\"next_id\":1,\"seq\":0,\"tasks\":[],\"x\":\"\u{1}\"}",
    ])
    func rejectsDocumentsThatBreakTheRules(_ text: String) {
        #expect(throws: WireFormatError.self) { try WireFormat.decodeWorkspaceDocument(Array(text.utf8)) }
    }

    @Test func rejectsInvalidUTF8() {
        var bytes = Array(
            #"{"as_of":1,"next_id":3,"seq":0,"tasks":[{"created_at":1,"duration_ms":5,"id":1,"name":"#.utf8)
        bytes += [UInt8(ascii: "\""), 0xFF, 0xFE, UInt8(ascii: "\"")]
        bytes += Array(#","type":"gx.tiny"}]}"#.utf8)
        #expect(throws: WireFormatError.self) { try WireFormat.decodeWorkspaceDocument(bytes) }
    }

    @Test func everyTruncationOfADocumentIsRejected() throws {
        var generator = SeededGenerator(seed: 5)
        let bytes = WireFormat.workspaceDocument(try sampleState(&generator, count: 3))
        let end = bytes.lastIndex(of: UInt8(ascii: "}")) ?? bytes.count
        for length in 0..<end {
            #expect(throws: WireFormatError.self, "prefix of \(length) bytes") {
                try WireFormat.decodeWorkspaceDocument(Array(bytes[0..<length]))
            }
        }
    }
}
