import Foundation
import Testing

/// Browsers call taskd from other origins: CORS on every answer, preflights answered without a key.
@Suite("REST CORS through nginx", .serialized, .timeLimit(.minutes(1)))
struct RESTCORSTests {
    @Test func preflightsAreAnswered204WithMethodsAndHeaders() async throws {
        try await TaskdHarness.with { harness in
            for path in ["/tasks", "/tasks/1", "/tasks/flush"] {
                let answer = try await harness.client.request(
                    "OPTIONS", path,
                    headers: [
                        ("Origin", "https://dashboard.example"), ("Access-Control-Request-Method", "POST"),
                        ("Access-Control-Request-Headers", "content-type"),
                    ])
                #expect(answer.status == 204, "\(path): \(answer)")
                #expect(answer.body.isEmpty)
                #expect(answer.header("Access-Control-Allow-Origin") == "*")
                let methods = answer.header("Access-Control-Allow-Methods") ?? ""
                #expect(!methods.isEmpty, "\(path): \(answer)")
                let headers = (answer.header("Access-Control-Allow-Headers") ?? "").lowercased()
                #expect(headers.contains("content-type"), "\(path): \(answer)")
            }
        }
    }

    @Test func everyAnswerCarriesAllowOriginErrorsIncluded() async throws {
        try await TaskdHarness.with { harness in
            let key = try harness.issueKey()
            let origin = [("Origin", "https://dashboard.example")]
            let answers = [
                try await harness.client.get(harness.target("/tasks", key: key), headers: origin),
                try await harness.client.post(
                    harness.target("/tasks", key: key), json: #"{"name":"a","type":"gx.tiny"}"#, headers: origin),
                try await harness.client.get("/tasks", headers: origin),
                try await harness.client.get(harness.target("/tasks", key: key, workspace: "bad id"), headers: origin),
                try await harness.client.request("PUT", harness.target("/tasks", key: key), headers: origin),
                try await harness.client.delete(harness.target("/tasks/7", key: key), headers: origin),
                try await harness.client.get("/elsewhere", headers: origin),
            ]
            for answer in answers {
                #expect(answer.header("Access-Control-Allow-Origin") == "*", "\(answer)")
            }
        }
    }

    @Test func aConfiguredOriginListIsMatched() async throws {
        var options = TaskdHarness.Options()
        options.corsOrigins = "https://a.example,https://b.example"
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let allowed = try await harness.client.get(
                harness.target("/tasks", key: key), headers: [("Origin", "https://b.example")])
            #expect(allowed.status == 200)
            #expect(allowed.header("Access-Control-Allow-Origin") == "https://b.example", "\(allowed)")
            #expect(allowed.header("Vary")?.contains("Origin") == true, "\(allowed)")
            let other = try await harness.client.get(
                harness.target("/tasks", key: key), headers: [("Origin", "https://evil.example")])
            #expect(other.header("Access-Control-Allow-Origin") != "https://evil.example", "\(other)")
        }
    }
}
