import TaskCore
import Testing

@testable import TaskAPI

@Suite struct CreateTaskBodyTests {
    @Test func validBodyIsParsedAndExtraKeysIgnored() throws {
        let body = try CreateTaskBody(parsing: Array(#"{"type":"gx.large","extra":[1,{"a":null}],"name":" x "}"#.utf8))
        #expect(body.name.rawValue == " x ")
        #expect(body.type == .large)
    }

    @Test func escapedNameIsKeptAsSent() throws {
        let body = try CreateTaskBody(parsing: Array(#"{"name":"a\"b\\c\n/é😀","type":"gx.tiny"}"#.utf8))
        #expect(body.name.rawValue == "a\"b\\c\n/é😀")
    }

    @Test(arguments: [
        ("", "body"),
        ("   \n", "body"),
        ("[]", "body"),
        ("\"text\"", "body"),
        ("42", "body"),
        ("null", "body"),
        ("{", "body"),
        ("{\"name\":\"a\",\"type\":\"gx.tiny\"} trailing", "body"),
        ("{}", "name"),
        ("{\"type\":\"gx.tiny\"}", "name"),
        ("{\"name\":null,\"type\":\"gx.tiny\"}", "name"),
        ("{\"name\":5,\"type\":\"gx.tiny\"}", "name"),
        ("{\"name\":[\"a\"],\"type\":\"gx.tiny\"}", "name"),
        ("{\"name\":\"\",\"type\":\"gx.tiny\"}", "name"),
        ("{\"name\":\" \\t\\n\",\"type\":\"gx.tiny\"}", "name"),
        ("{\"name\":\"a\"}", "type"),
        ("{\"name\":\"a\",\"type\":true}", "type"),
        ("{\"name\":\"a\",\"type\":\"gx.huge\"}", "type"),
        ("{\"name\":\"a\",\"type\":\"GX.TINY\"}", "type"),
    ])
    func invalidBodiesNameTheirFault(text: String, parameter: String) {
        #expect {
            try CreateTaskBody(parsing: Array(text.utf8))
        } throws: { error in
            (error as? ValidationError)?.parameter == parameter
        }
    }

    @Test func invalidUTF8IsRejected() {
        var bytes = Array(#"{"name":"a"#.utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array(#"","type":"gx.tiny"}"#.utf8)
        #expect(throws: ValidationError.self) { try CreateTaskBody(parsing: bytes) }
    }

    @Test func deeplyNestedBodyIsRejectedWithoutCrashing() {
        let depth = APIHandler.maximumBodyBytes / 2
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(throws: ValidationError.self) { try CreateTaskBody(parsing: Array(text.utf8)) }
        let nested =
            #"{"name":"a","type":"gx.tiny","x":"# + String(repeating: "{\"a\":", count: 5_000) + "1"
            + String(repeating: "}", count: 5_001)
        #expect(throws: ValidationError.self) { try CreateTaskBody(parsing: Array(nested.utf8)) }
    }

    @Test func typeMessageListsTheSixTypes() {
        #expect {
            try CreateTaskBody(parsing: Array(#"{"name":"a","type":"x"}"#.utf8))
        } throws: { error in
            let message = (error as? ValidationError)?.message ?? ""
            return TaskType.allCases.allSatisfy { message.contains($0.rawValue) }
        }
    }

    @Test func nameLengthCountsCharacters() throws {
        let longest = String(repeating: "é", count: 256)
        #expect(
            try CreateTaskBody(parsing: Array(#"{"name":"\#(longest)","type":"gx.tiny"}"#.utf8)).name.rawValue
                == longest)
        #expect(throws: ValidationError.self) {
            try CreateTaskBody(parsing: Array(#"{"name":"\#(longest)x","type":"gx.tiny"}"#.utf8))
        }
    }
}
