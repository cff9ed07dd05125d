import HTTPTypes
import Testing

@testable import TaskAPI

@Suite struct RequestTests {
    @Test(
        arguments: [
            ("api_key=abc&workspace_id=w1", ["api_key": "abc", "workspace_id": "w1"]),
            ("", [:]),
            ("a=1&&b=2&", ["a": "1", "b": "2"]),
            ("flag", ["flag": ""]),
            ("a=", ["a": ""]),
            ("a=b=c", ["a": "b=c"]),
            ("name=hello+world", ["name": "hello world"]),
            ("name=%41%62%63", ["name": "Abc"]),
            ("name=%e2%82%ac", ["name": "€"]),
            ("na%6De=x", ["name": "x"]),
            ("a=%2B%26%3D", ["a": "+&="]),
            ("a=100%", ["a": "100%"]),
            ("a=%zz%4", ["a": "%zz%4"]),
            ("a=%", ["a": "%"]),
            ("a=%ff", ["a": "\u{FFFD}"]),
        ] as [(String, [String: String])])
    func queryIsPercentDecoded(raw: String, expected: [String: String]) {
        let request = Request(method: .get, path: "/tasks", rawQuery: raw)
        #expect(request.query == expected)
    }

    @Test func firstOccurrenceOfARepeatedParameterWins() {
        let request = Request(method: .get, path: "/tasks", rawQuery: "api_key=first&api_key=second&api%5Fkey=third")
        #expect(request.query["api_key"] == "first")
    }

    @Test func encodedSeparatorsDoNotSplitValues() {
        let request = Request(method: .get, path: "/tasks", rawQuery: "api_key=a%26workspace_id%3Dother")
        #expect(request.query == ["api_key": "a&workspace_id=other"])
    }
}
