import Foundation
import HTTPTypes
import TaskStore
import Testing

@testable import TaskAPI

/// `openapi/openapi.yaml` against the handler: every documented REST answer is provoked and must come back as
/// documented, and the contract's rows must all be documented.
@Suite struct OpenAPIConformanceTests {
    struct Operation: Hashable, CustomStringConvertible {
        let path: String
        let method: String
        let status: Int
        var description: String { "\(method.uppercased()) \(path) → \(status)" }
    }

    /// The document's (path, method, status) triples, read from its fixed layout (two-space YAML indentation).
    static func documentedOperations() throws -> Set<Operation> {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("openapi/openapi.yaml"), encoding: .utf8)
        var operations: Set<Operation> = []
        var path: String?
        var method: String?
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") {
                inPaths = line == "paths:"
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
                method = nil
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let name = line.dropFirst(4).dropLast()
                method =
                    ["get", "post", "put", "delete", "patch", "options", "head"].contains(name) ? String(name) : nil
            } else if line.hasPrefix("        \""), !line.hasPrefix("         "), let path, let method {
                let code = line.dropFirst(9).prefix(3)
                if let status = Int(code) { operations.insert(Operation(path: path, method: method, status: status)) }
            }
        }
        return operations
    }

    @Test func everyContractRowIsDocumented() throws {
        let documented = try Self.documentedOperations()
        let required: [Operation] = [
            .init(path: "/tasks", method: "get", status: 200), .init(path: "/tasks", method: "get", status: 400),
            .init(path: "/tasks", method: "get", status: 401), .init(path: "/tasks", method: "post", status: 201),
            .init(path: "/tasks", method: "post", status: 400), .init(path: "/tasks", method: "post", status: 401),
            .init(path: "/tasks", method: "post", status: 413), .init(path: "/tasks", method: "post", status: 415),
            .init(path: "/tasks", method: "post", status: 429), .init(path: "/tasks", method: "post", status: 503),
            .init(path: "/tasks/{id}", method: "delete", status: 204),
            .init(path: "/tasks/{id}", method: "delete", status: 400),
            .init(path: "/tasks/{id}", method: "delete", status: 401),
            .init(path: "/tasks/{id}", method: "delete", status: 404),
            .init(path: "/tasks/{id}", method: "delete", status: 409),
            .init(path: "/tasks/flush", method: "post", status: 204),
            .init(path: "/tasks/flush", method: "post", status: 400),
            .init(path: "/tasks/flush", method: "post", status: 401),
            .init(path: "/ws/tasks", method: "get", status: 400), .init(path: "/ws/tasks", method: "get", status: 401),
        ]
        for operation in required {
            #expect(documented.contains(operation), "\(operation) is not documented")
        }
    }

    /// The document declares real operations only; every other method on a declared path is a 405 whose `Allow` lists
    /// exactly the declared ones, plus `OPTIONS` (the CORS preflight every REST path answers, described but not an
    /// operation).
    @Test func everyUndeclaredMethodIsRefusedWithTheDeclaredOnesInAllow() throws {
        let documented = try Self.documentedOperations()
        #expect(!documented.contains { $0.status == 405 }, "405 answers are not operations")
        #expect(!documented.contains { $0.method == "options" }, "preflights are not operations")
        let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .trace, .connect]
        for path in Set(documented.map(\.path)) where path != "/ws/tasks" {
            let declared = Set(documented.filter { $0.path == path }.map { $0.method.uppercased() } + ["OPTIONS"])
            for method in methods where !declared.contains(method.rawValue) {
                let api = try APIHarness()
                let response = api.send(method, path.replacingOccurrences(of: "{id}", with: "1"), query: api.query())
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                let allow = Set(
                    (response.headerFields[.allow] ?? "").split(separator: ",").map {
                        $0.trimmingCharacters(in: .whitespaces)
                    })
                #expect(allow == declared, "\(method) \(path): Allow \(response.headerFields[.allow] ?? "none")")
            }
        }
    }

    @Test func everyDocumentedRESTAnswerIsWhatTheHandlerGives() throws {
        let documented = try Self.documentedOperations()
        #expect(documented.count > 20)
        // The stream is taskd-ws's.
        for operation in documented where operation.path != "/ws/tasks" {
            let response = try Self.provoke(operation)
            #expect(Int(response.status.code) == operation.status, "\(operation): got \(response.status.code)")
            #expect(response.headerFields[.accessControlAllowOrigin] == "*", "\(operation)")
            if operation.status >= 400 {
                #expect(response.error != nil, "\(operation): not a JSON error")
                #expect(response.headerFields[.contentType] == "application/json; charset=utf-8")
            }
            if operation.status == 405 { #expect(response.headerFields[.allow] != nil, "\(operation)") }
            if operation.status == 204 { #expect(response.body.isEmpty && response.headerFields[.contentType] == nil) }
        }
    }

    /// A fresh workspace and the request that should get the operation's status.
    static func provoke(_ operation: Operation) throws -> Response {
        let api = try APIHarness(maxTasks: operation.status == 429 ? 1 : nil)
        guard let method = HTTPRequest.Method(operation.method.uppercased()) else {
            throw HarnessError.unexpected(Response(status: .internalServerError))
        }
        let isDelete = operation.path == "/tasks/{id}"
        let path = isDelete ? "/tasks/1" : operation.path
        var query = api.query()
        var body = #"{"name":"abc","type":"gx.tiny"}"#
        var headers: HTTPFields = [:]
        switch operation.status {
        case 200, 201, 204:
            if isDelete { try api.create() }
        case 400:
            query = api.query(workspace: "bad.id")
        case 401:
            query = "api_key=unknown"
        case 404:
            break
        case 409:
            try api.create()
            api.clock.advance(by: 1)
        case 413:
            body = String(repeating: " ", count: APIHandler.maximumBodyBytes + 1)
        case 415:
            headers[.contentType] = "text/plain"
        case 429:
            try api.create()
        case 500:
            // A journal that cannot be read for a reason that is not the disk's state (here: it is a directory).
            try api.create()
            let key = try api.handler.authorize(Request(method: .get, path: "/tasks", rawQuery: api.query()))
            try FileManager.default.removeItem(atPath: api.store.journalPath(key))
            try FileManager.default.createDirectory(
                atPath: api.store.journalPath(key), withIntermediateDirectories: false)
        case 503:
            // A damaged journal makes its workspace unavailable.
            try api.create()
            let key = try api.handler.authorize(Request(method: .get, path: "/tasks", rawQuery: api.query()))
            try Data("{".utf8).write(to: URL(fileURLWithPath: api.store.journalPath(key)))
        default:
            throw HarnessError.unexpected(Response(status: .init(code: operation.status)))
        }
        return api.send(method, path, query: query, body: method == .post ? body : nil, headers: headers)
    }
}
