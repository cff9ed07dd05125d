import Foundation
import Testing

/// nginx's own answers: JSON error bodies (never HTML), the OpenAPI document, the access log without keys.
@Suite("nginx around the REST API", .serialized, .timeLimit(.minutes(1)))
struct RESTNginxTests {
    @Test func nginxErrorsAreJSONWithCORS() async throws {
        try await TaskdHarness.with { harness in
            // A request line nginx cannot parse.
            let malformed = try await harness.client.exchangeRaw(
                Array("GET /tasks%zz HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(malformed.hasPrefix("HTTP/1.1 400"), "\(malformed)")
            #expect(malformed.contains(#""code":"invalid_request""#), "\(malformed)")
            #expect(malformed.contains("Access-Control-Allow-Origin: *"), "\(malformed)")
            #expect(!malformed.contains("<html"), "\(malformed)")
            // A URL over nginx's header buffers.
            let long = try await harness.client.get("/tasks?api_key=" + String(repeating: "k", count: 20_000))
            expectError(long, status: 414, code: "invalid_request")
            // A method nginx's static handler refuses.
            let post = try await harness.client.post("/openapi.yaml", json: "{}")
            expectError(post, status: 405, code: "method_not_allowed")
            #expect(post.header("Allow") == "GET, HEAD", "\(post)")
            // nginx's own 500, 503 and 504 (made on purpose by the local template).
            for (status, code) in [(500, "internal_error"), (503, "unavailable"), (504, "unavailable")] {
                expectError(try await harness.client.get("/_nginx_error/\(status)"), status: status, code: code)
            }
            // The responder is down: 502 as JSON.
            await harness.responder?.killNow()
            let down = try await harness.client.get("/tasks?api_key=x")
            expectError(down, status: 502, code: "unavailable")
            #expect(!down.text.contains("<html"))
        }
    }

    @Test func theOpenAPIDocumentIsServed() async throws {
        try await TaskdHarness.with { harness in
            let answer = try await harness.client.get("/openapi.yaml")
            #expect(answer.status == 200, "\(answer)")
            #expect(answer.header("Content-Type")?.hasPrefix("application/yaml") == true)
            #expect(answer.text.contains("openapi: 3.1"), "\(answer.text.prefix(200))")
            let onDisk = try Data(contentsOf: PackagePaths.openAPIDirectory.appendingPathComponent("openapi.yaml"))
            #expect(answer.body == Array(onDisk))
        }
    }

    @Test func theAccessLogNeverContainsTheKey() async throws {
        try await TaskdHarness.with { harness in
            let key = try harness.issueKey()
            _ = try await harness.listTasks(key: key)
            _ = try await harness.client.get("/tasks?api_key=tk_secret_in_query")
            let log = harness.prefix.appendingPathComponent("logs/access.log")
            try await waitUntil("the access log to record the requests") {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                return text.split(separator: "\n").count >= 2
            }
            let text = try String(contentsOf: log, encoding: .utf8)
            #expect(text.contains("GET /tasks "), "\(text)")
            #expect(!text.contains(key))
            #expect(!text.contains("tk_secret_in_query"))
            #expect(!text.contains("api_key"))
        }
    }
}
