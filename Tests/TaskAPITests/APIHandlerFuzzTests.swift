import Foundation
import HTTPTypes
import Testing

@testable import TaskAPI

/// Malformed input of every kind: the handler answers each one, as JSON with CORS, and never traps.
@Suite struct APIHandlerFuzzTests {
    /// A small seeded generator (SplitMix64), so that a failure can be replayed.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var value = state
            value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
            value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
            return value ^ (value >> 31)
        }
    }

    @Test func randomRequestsAlwaysGetAnAnswer() throws {
        let api = try APIHarness()
        var generator = SeededGenerator(state: 20_261_129)
        let methods: [HTTPRequest.Method] = [.get, .post, .delete, .put, .options, .head, .patch]
        let paths = ["/tasks", "/tasks/flush", "/tasks/1", "/tasks/%", "/tasks/\u{0}", "/", "/tasks//", "/tasks/99999"]
        let fragments = [
            "{", "}", "[", "]", "\"name\"", ":", ",", "\"gx.tiny\"", "\"type\"", "null", "1e999", "-0", "\\u0000",
            "\\ud800", "\"", "true", " ", "\u{FEFF}", "é",
        ]
        let queries = [
            api.query(), "", "api_key", "api_key=&api_key=\(api.alphaKey)", "api_key=\(api.alphaKey)&workspace_id=%ZZ",
            "api_key=\(api.alphaKey)&workspace_id=a+b", "%%%&&&===", "api_key=\(api.alphaKey)&workspace_id=%60%5B%5D",
        ]
        for _ in 0..<1_500 {
            var body: [UInt8]
            if Bool.random(using: &generator) {
                body = (0..<Int.random(in: 0..<64, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
            } else {
                let count = Int.random(in: 0..<12, using: &generator)
                body = Array((0..<count).map { _ in fragments.randomElement(using: &generator) ?? "" }.joined().utf8)
            }
            var headers = HTTPFields()
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: headers[.contentType] = "application/json"
            case 1: headers[.contentType] = ";;;"
            case 2: headers[.origin] = "null"
            default: break
            }
            let request = Request(
                method: methods.randomElement(using: &generator) ?? .get,
                path: paths.randomElement(using: &generator) ?? "/",
                rawQuery: queries.randomElement(using: &generator) ?? "",
                headerFields: headers, body: body)
            let response = api.handler.handle(request)
            #expect(response.headerFields[.accessControlAllowOrigin] == "*")
            #expect(response.status.code != 500, "\(request.method) \(request.path)")
            if response.status.code >= 400 {
                #expect(response.error != nil)
            }
        }
    }
}
