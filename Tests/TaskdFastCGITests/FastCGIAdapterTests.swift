import HTTPTypes
import TaskAPI
import Testing

@testable import TaskdFastCGI

@Suite struct FastCGIAdapterTests {
    @Test func parametersBecomeARequest() throws {
        let exchange = FastCGIExchange(
            parameters: [
                "REQUEST_METHOD": "POST", "DOCUMENT_URI": "/tasks", "QUERY_STRING": "api_key=k&workspace_id=w",
                "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "2", "HTTP_ORIGIN": "https://a.example",
                "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST", "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "content-type",
                "REQUEST_ID": "abc123", "REQUEST_URI": "/ignored?api_key=k",
            ],
            body: Array("{}".utf8))
        let request = Request(fastCGI: exchange)
        #expect(request.method == .post)
        #expect(request.path == "/tasks")
        #expect(request.query["api_key"] == "k")
        #expect(request.query["workspace_id"] == "w")
        #expect(request.headerFields[.contentType] == "application/json")
        #expect(request.headerFields[.origin] == "https://a.example")
        #expect(request.headerFields[.accessControlRequestMethod] == "POST")
        #expect(request.headerFields[.accessControlRequestHeaders] == "content-type")
        #expect(request.body == Array("{}".utf8))
        #expect(request.requestID == "abc123")
    }

    @Test func withoutDocumentURIThePathComesFromRequestURIWithoutTheQuery() {
        let request = Request(
            fastCGI: FastCGIExchange(parameters: ["REQUEST_METHOD": "DELETE", "REQUEST_URI": "/tasks/3?api_key=k"], body: []))
        #expect(request.method == .delete)
        #expect(request.path == "/tasks/3")
        #expect(request.requestID == nil)
    }

    @Test func aResponseBecomesACGIAnswer() {
        var fields = HTTPFields()
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.accessControlAllowOrigin] = "*"
        let response = Response(status: .created, headerFields: fields, body: Array(#"{"task":1}"#.utf8))
        let text = String(decoding: response.fastCGIRecord, as: UTF8.self)
        #expect(text.hasPrefix("Status: 201 Created\r\n"))
        #expect(text.contains("Content-Type: application/json; charset=utf-8\r\n"))
        #expect(text.contains("Access-Control-Allow-Origin: *\r\n"))
        #expect(text.hasSuffix("\r\n\r\n" + #"{"task":1}"#))
    }

    @Test func aNoContentAnswerHasNoBody() {
        let response = Response(status: .noContent, headerFields: HTTPFields(), body: [])
        #expect(String(decoding: response.fastCGIRecord, as: UTF8.self) == "Status: 204 No Content\r\n\r\n")
    }
}
