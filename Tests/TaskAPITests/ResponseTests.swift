import HTTPTypes
import Testing

@testable import TaskAPI

@Suite struct ResponseTests {
    @Test func jsonSetsContentTypeAndLength() {
        let response = Response.json(Array(#"{"a":"é"}"#.utf8), status: .ok)
        #expect(response.headerFields[.contentType] == "application/json; charset=utf-8")
        #expect(response.headerFields[.contentLength] == "10")
    }

    @Test func noContentHasNoBodyAndNoContentType() {
        let response = Response.noContent()
        #expect(response.status == .noContent)
        #expect(response.body.isEmpty)
        #expect(response.headerFields.isEmpty)
    }
}
