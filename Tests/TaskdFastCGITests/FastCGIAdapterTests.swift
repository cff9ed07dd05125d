import HTTPTypes
import TaskAPI
import TaskCore
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
        let request = try Request(fastCGI: exchange)
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

    @Test func withoutDocumentURIThePathComesFromRequestURIWithoutTheQuery() throws {
        let request = try Request(
            fastCGI: FastCGIExchange(
                parameters: ["REQUEST_METHOD": "DELETE", "REQUEST_URI": "/tasks/3?api_key=k"], body: []))
        #expect(request.method == .delete)
        #expect(request.path == "/tasks/3")
        #expect(request.requestID == nil)
    }

    @Test func onlyTheParametersTheAPIReadsAreKeptAndTheFirstOfARepeatedOneWins() throws {
        var exchange = FastCGIExchange(
            parameters: [
                "REQUEST_METHOD": "GET", "DOCUMENT_URI": "/tasks", "HTTP_USER_AGENT": "curl", "SCRIPT_NAME": "/tasks",
                "CONTENT_TYPE": "", "HTTP_ORIGIN": "", "REQUEST_ID": "",
            ],
            body: [])
        let request = try Request(fastCGI: exchange)
        // Empty parameters are absent header fields (FastCGI cannot tell them apart); other headers are not read.
        #expect(request.headerFields.isEmpty)
        #expect(request.requestID == nil)
        #expect(exchange[.requestMethod] == "GET")
        exchange = FastCGIExchange(parameters: ["REQUEST_METHOD_X": "POST", "REQUEST_METHO": "PUT"], body: [])
        #expect(exchange[.requestMethod] == nil)
    }

    @Test(arguments: ["GE T", "", "GET\r\n", "G\u{E9}T", "(GET)"])
    func aMethodThatIsNotAnHTTPTokenIsRefusedNotServedAsAnother(_ method: String) throws {
        let exchange = FastCGIExchange(
            parameters: ["REQUEST_METHOD": method, "DOCUMENT_URI": "/tasks", "QUERY_STRING": "api_key=k"], body: [])
        #expect(throws: ValidationError.self) { try Request(fastCGI: exchange) }
    }

    @Test func aMissingMethodIsRefused() throws {
        let exchange = FastCGIExchange(parameters: ["DOCUMENT_URI": "/tasks"], body: [])
        do {
            _ = try Request(fastCGI: exchange)
            Issue.record("a request without a method was accepted")
        } catch {
            #expect(error.parameter == "REQUEST_METHOD")
        }
    }

    @Test func anUnknownButWellFormedMethodReachesTheRouter() throws {
        let exchange = FastCGIExchange(parameters: ["REQUEST_METHOD": "PURGE", "DOCUMENT_URI": "/tasks"], body: [])
        #expect(try Request(fastCGI: exchange).method.rawValue == "PURGE")
    }

    @Test(arguments: [
        ("", FastCGIExchange.DeclaredLength.none), ("0", .bytes(0)), ("42", .bytes(42)), ("007", .bytes(7)),
        ("999999999999999999", .bytes(999_999_999_999_999_999)), ("1000000000000000000", .unreadable),
        ("-5", .unreadable), ("+5", .unreadable), (" 5", .unreadable), ("5 ", .unreadable), ("0x10", .unreadable),
        ("1e3", .unreadable), ("\u{661}", .unreadable), ("abc", .unreadable),
    ])
    func contentLengthIsADecimalCountOfBytes(text: String, expected: FastCGIExchange.DeclaredLength) {
        #expect(FastCGIExchange.declaredLength(text) == expected)
    }

    @Test func aBodyThatDoesNotMatchItsContentLengthIsAnInvalidRequest() throws {
        let body = Array(#"{"name":"a","type":"gx.tiny"}"#.utf8)
        let base = ["REQUEST_METHOD": "POST", "DOCUMENT_URI": "/tasks", "QUERY_STRING": "api_key=k"]
        for (length, fault) in [
            ("40", FastCGIExchange.BodyFault.shorter(declared: 40, received: body.count)),
            ("10", .longer(declared: 10)), ("-1", .unreadableLength), ("29 ", .unreadableLength),
        ] {
            let exchange = FastCGIExchange(parameters: base.merging(["CONTENT_LENGTH": length]) { $1 }, body: body)
            #expect(exchange.bodyFault == fault, "\(length)")
            do {
                _ = try Request(fastCGI: exchange)
                Issue.record("a body with CONTENT_LENGTH \(length) was accepted")
            } catch {
                #expect(error.parameter == "CONTENT_LENGTH")
            }
        }
        for parameters in [base.merging(["CONTENT_LENGTH": "\(body.count)"]) { $1 }, base] {
            #expect(try Request(fastCGI: FastCGIExchange(parameters: parameters, body: body)).body == body)
        }
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
