import Foundation
import HTTPTypes
import TaskCore
import TaskStore
import Testing

@testable import TaskAPI

/// Routing, the order of checks, the error table and the shape of every answer.
@Suite struct APIHandlerTests {
    // MARK: Every route

    @Test func createAnswers201WithTheQueuedTask() throws {
        let api = try APIHarness()
        let response = api.send(.post, "/tasks", query: api.query(), body: #"{"name":"abc","type":"gx.tiny"}"#)
        #expect(response.status == .created)
        #expect(response.text == #"{"task":{"id":1,"name":"abc","type":"gx.tiny","status":"queued"}}"#)
        #expect(response.headerFields[.contentType] == "application/json; charset=utf-8")
        #expect(response.headerFields[.contentLength] == String(response.body.count))
    }

    @Test func namesAreStoredAsSentAndEscapedOnTheWire() throws {
        let api = try APIHarness()
        let response = api.send(
            .post, "/tasks", query: api.query(), body: #"{"name":"a\"b\\c</d>\u0001 é","type":"gx.micro"}"#)
        #expect(response.text == #"{"task":{"id":1,"name":"a\"b\\c</d>\u0001 é","type":"gx.micro","status":"queued"}}"#)
        #expect(try api.list().map(\.name) == ["a\"b\\c</d>\u{01} é"])
    }

    @Test func listAnswers200WithTasksInIDOrder() throws {
        let api = try APIHarness()
        #expect(api.send(.get, "/tasks", query: api.query()).text == #"{"tasks":[]}"#)
        for name in ["one", "two", "three"] { try api.create(name) }
        let tasks = try api.list()
        #expect(tasks.map(\.id) == [1, 2, 3])
        #expect(tasks.map(\.name) == ["one", "two", "three"])
        #expect(tasks.allSatisfy { $0.status == "queued" })
    }

    @Test func listMatchesTheAPIDocumentByteForByte() throws {
        let api = try APIHarness(slots: 1)
        for _ in 1...3 { try api.create("abc") }
        #expect(api.send(.delete, "/tasks/1", query: api.query()).status == .noContent)
        #expect(api.send(.delete, "/tasks/2", query: api.query()).status == .noContent)
        api.clock.advance(by: 1)
        let response = api.send(.get, "/tasks", query: api.query())
        #expect(response.status == .ok)
        #expect(response.text == #"{"tasks":[{"id":3,"name":"abc","type":"gx.tiny","status":"running"}]}"#)
    }

    @Test func deleteAndFlushAnswer204WithoutBody() throws {
        let api = try APIHarness()
        try api.create()
        for response in [
            api.send(.delete, "/tasks/1", query: api.query()),
            api.send(.post, "/tasks/flush", query: api.query()),
        ] {
            #expect(response.status == .noContent)
            #expect(response.body.isEmpty)
            #expect(response.headerFields[.contentType] == nil)
            #expect(response.headerFields[.accessControlAllowOrigin] == "*")
        }
    }

    @Test func workspaceIDDefaultsToDefault() throws {
        let api = try APIHarness()
        try api.create("in-default")
        #expect(try api.list(workspace: "default").map(\.name) == ["in-default"])
        #expect(try api.list(workspace: "other").isEmpty)
        try api.create("in-other", workspace: "other")
        #expect(try api.list().map(\.name) == ["in-default"])
    }

    @Test(arguments: ["w", "A-z_[]^`\\", "0", String(repeating: "x", count: 64)])
    func literalPatternWorkspaceIDsAreAccepted(workspace: String) throws {
        let api = try APIHarness()
        let encoded = workspace.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? workspace
        let response = api.send(
            .post, "/tasks", query: api.query(workspace: encoded), body: #"{"name":"a","type":"gx.tiny"}"#)
        #expect(response.status == .created)
        #expect(try api.list(workspace: encoded).count == 1)
    }

    // MARK: The error table

    @Test(arguments: ["", "a%20b", "a.b", "a/b", "%2E%2E", "caf%C3%A9", String(repeating: "x", count: 65), "a%00"])
    func badWorkspaceIDIs400(workspace: String) throws {
        let api = try APIHarness()
        for (method, path) in [
            (HTTPRequest.Method.get, "/tasks"), (.post, "/tasks"), (.delete, "/tasks/1"), (.post, "/tasks/flush"),
        ] {
            let response = api.send(method, path, query: api.query(workspace: workspace), body: "{}")
            #expect(response.status == .badRequest)
            #expect(response.error?.code == "invalid_request")
            #expect(response.error?.message.contains("workspace_id") == true)
        }
    }

    @Test(arguments: ["0", "-1", "abc", "1.0", "1e3", "%31", "99999999999999999999"])
    func badTaskIDIs400(rawID: String) throws {
        let api = try APIHarness()
        let response = api.send(.delete, "/tasks/" + rawID, query: api.query())
        #expect(response.status == .badRequest)
        #expect(response.error?.code == "invalid_request")
        #expect(response.error?.message.contains("id") == true)
    }

    @Test(arguments: [nil, "", "unknown-key", String(repeating: "k", count: 300)] as [String?])
    func missingEmptyOrUnknownKeyIs401OnEveryEndpoint(key: String?) throws {
        let api = try APIHarness()
        let query = key.map { "api_key=" + $0 } ?? "workspace_id=default"
        for (method, path) in [
            (HTTPRequest.Method.get, "/tasks"), (.post, "/tasks"), (.delete, "/tasks/1"), (.post, "/tasks/flush"),
        ] {
            let response = api.send(method, path, query: query, body: #"{"name":"a","type":"gx.tiny"}"#)
            #expect(response.status == .unauthorized)
            #expect(response.error?.code == "unauthorized")
            #expect(response.error?.message.contains("api_key") == true)
            #expect(response.headerFields[.accessControlAllowOrigin] == "*")
        }
    }

    @Test func revokedKeyIs401WithinOneSecond() throws {
        let api = try APIHarness()
        #expect(api.send(.get, "/tasks", query: api.query()).status == .ok)
        _ = try KeysFile.revoke(id: api.alphaKeyID, path: api.settings.keysFile)
        let revokedAt = ContinuousClock.now
        // Judged by when each request was sent, so that a stalled, busy machine cannot fail the test by itself.
        var rejected = false
        var acceptedLate = false
        while !rejected && ContinuousClock.now < revokedAt + .seconds(5) {
            let sentAt = ContinuousClock.now
            if api.send(.get, "/tasks", query: api.query()).status == .unauthorized {
                rejected = true
            } else {
                acceptedLate = acceptedLate || sentAt - revokedAt > .seconds(1)
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        #expect(rejected)
        #expect(!acceptedLate)
        #expect(api.send(.get, "/tasks", query: api.query(key: api.betaKey)).status == .ok)
    }

    @Test func unknownPathIs404() throws {
        let api = try APIHarness()
        for path in ["/", "/task", "/tasks/", "/tasks/1/extra", "/TASKS"] {
            let response = api.send(.get, path, query: api.query())
            #expect(response.status == .notFound)
            #expect(response.error?.code == "not_found")
        }
    }

    @Test func missingTaskIs404() throws {
        let api = try APIHarness()
        let response = api.send(.delete, "/tasks/42", query: api.query())
        #expect(response.status == .notFound)
        #expect(response.error == WireError(code: "not_found", message: "No task with id 42 in this workspace."))
    }

    @Test(arguments: [
        (HTTPRequest.Method.put, "/tasks", "GET, POST, OPTIONS"),
        (.delete, "/tasks", "GET, POST, OPTIONS"),
        (.patch, "/tasks", "GET, POST, OPTIONS"),
        (.head, "/tasks", "GET, POST, OPTIONS"),
        (.get, "/tasks/flush", "POST, OPTIONS"),
        (.delete, "/tasks/flush", "POST, OPTIONS"),
        (.get, "/tasks/3", "DELETE, OPTIONS"),
        (.post, "/tasks/3", "DELETE, OPTIONS"),
    ])
    func otherMethodOnKnownPathIs405WithAllow(method: HTTPRequest.Method, path: String, allow: String) throws {
        let api = try APIHarness()
        let response = api.send(method, path, query: api.query())
        #expect(response.status == .methodNotAllowed)
        #expect(response.error?.code == "method_not_allowed")
        #expect(response.headerFields[.allow] == allow)
    }

    @Test func deletingAStartedTaskIs409() throws {
        let api = try APIHarness()
        try api.create()
        api.clock.advance(by: 1)
        let running = api.send(.delete, "/tasks/1", query: api.query())
        #expect(running.status == .conflict)
        #expect(
            running.error
                == WireError(code: "conflict", message: "Task 1 is running; only queued tasks can be deleted."))
        api.clock.advance(by: 10_000)
        let completed = api.send(.delete, "/tasks/1", query: api.query())
        #expect(completed.status == .conflict)
        #expect(completed.error?.message.contains("completed") == true)
        #expect(try api.list().count == 1)
    }

    @Test func bodyOf64KiBIsAcceptedAndOneByteMoreIs413() throws {
        let api = try APIHarness()
        let prefix = #"{"name":"big","type":"gx.tiny","padding":""#
        let suffix = #""}"#
        let exact =
            prefix + String(repeating: "x", count: APIHandler.maximumBodyBytes - prefix.utf8.count - suffix.utf8.count)
            + suffix
        #expect(exact.utf8.count == APIHandler.maximumBodyBytes)
        #expect(api.send(.post, "/tasks", query: api.query(), body: exact).status == .created)
        let over = api.send(.post, "/tasks", query: api.query(), body: exact + " ")
        #expect(over.status == .contentTooLarge)
        #expect(over.error?.code == "payload_too_large")
        #expect(try api.list().count == 1)
    }

    @Test(
        arguments: [
            nil, "", "application/json", "application/json; charset=utf-8", "Application/JSON",
            " application/json ;charset=UTF-8",
        ] as [String?])
    func jsonOrMissingContentTypeIsAccepted(contentType: String?) throws {
        let api = try APIHarness()
        var headers = HTTPFields()
        if let contentType { headers[.contentType] = contentType }
        let response = api.send(
            .post, "/tasks", query: api.query(), body: #"{"name":"a","type":"gx.tiny"}"#, headers: headers)
        #expect(response.status == .created)
    }

    @Test(arguments: [
        "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx",
        "application/json-patch+json", "json",
    ])
    func otherContentTypeIs415(contentType: String) throws {
        let api = try APIHarness()
        let response = api.send(
            .post, "/tasks", query: api.query(), body: #"{"name":"a","type":"gx.tiny"}"#,
            headers: [.contentType: contentType])
        #expect(response.status == .unsupportedMediaType)
        #expect(response.error?.code == "unsupported_media_type")
        #expect(response.error?.message.contains("application/json") == true)
    }

    @Test func invalidBodiesAre400() throws {
        let api = try APIHarness()
        for body in [
            "", "[]", "not json", #"{"name":1,"type":"gx.tiny"}"#, #"{"name":"a","type":"gx.none"}"#,
            #"{"name":"  ","type":"gx.tiny"}"#,
        ] {
            let response = api.send(.post, "/tasks", query: api.query(), body: body)
            #expect(response.status == .badRequest)
            #expect(response.error?.code == "invalid_request")
        }
        let invalidUTF8 = api.handler.handle(
            Request(method: .post, path: "/tasks", rawQuery: api.query(), body: [0x7B, 0xFF, 0x7D]))
        #expect(invalidUTF8.status == .badRequest)
        #expect(try api.list().isEmpty)
    }

    @Test func taskLimitIs429() throws {
        let api = try APIHarness(maxTasks: 2)
        try api.create()
        try api.create()
        let response = api.send(.post, "/tasks", query: api.query(), body: #"{"name":"a","type":"gx.tiny"}"#)
        #expect(response.status == .tooManyRequests)
        #expect(response.error?.code == "limit_exceeded")
        #expect(try api.list(workspace: "other").isEmpty)
        try api.create(workspace: "other")
    }

    @Test func workspaceLimitIs429AndReadsStillWork() throws {
        let api = try APIHarness(maxWorkspaces: 2)
        try api.create(workspace: "one")
        try api.create(workspace: "two")
        let response = api.send(
            .post, "/tasks", query: api.query(workspace: "three"), body: #"{"name":"a","type":"gx.tiny"}"#)
        #expect(response.status == .tooManyRequests)
        #expect(response.error?.code == "limit_exceeded")
        // Reads, deletes and flushes of unused workspaces create nothing, so they are not refused.
        #expect(try api.list(workspace: "three").isEmpty)
        #expect(api.send(.post, "/tasks/flush", query: api.query(workspace: "three")).status == .noContent)
        #expect(api.send(.delete, "/tasks/1", query: api.query(workspace: "three")).status == .notFound)
        try api.create(workspace: "one")
        // Another tenant has its own allowance.
        try api.create(key: api.betaKey, workspace: "three")
    }

    @Test func storeErrorsMapToTheirStatuses() throws {
        let api = try APIHarness()
        let request = Request(method: .post, path: "/tasks", rawQuery: api.query())
        let readOnly = api.handler.errorResponse(
            for: StoreError.io(operation: "open", path: "/x", errno: EROFS), to: request)
        #expect(readOnly.status == .serviceUnavailable)
        #expect(readOnly.error?.code == "unavailable")
        #expect(readOnly.headerFields[.retryAfter] == "5")
        let full = api.handler.errorResponse(
            for: StoreError.io(operation: "write", path: "/x", errno: ENOSPC), to: request)
        #expect(full.status == .serviceUnavailable)
        let failing = api.handler.errorResponse(
            for: StoreError.io(operation: "fdatasync", path: "/x", errno: EIO), to: request)
        #expect(failing.status == .serviceUnavailable)
        let other = api.handler.errorResponse(
            for: StoreError.io(operation: "open", path: "/x", errno: EACCES), to: request)
        #expect(other.status == .internalServerError)
        #expect(other.error?.code == "internal_error")
        #expect(other.error?.message.contains("/x") == false)
        #expect(other.headerFields[.retryAfter] == nil)
        let limit = api.handler.errorResponse(for: StoreError.workspaceLimitReached(limit: 3), to: request)
        #expect(limit.status == .tooManyRequests)
        // Open mode's bounds on the whole server: 429, saying what an honest user can do, and nothing about paths.
        var limits: [Response] = []
        for (error, advice) in [
            (StoreError.tenantCountReached(limit: 1_000), "keep using a key that has written before"),
            (.workspaceCountReached(limit: 10_000), "write to a workspace_id that you have used before"),
        ] {
            let response = api.handler.errorResponse(for: error, to: request)
            #expect(response.status == .tooManyRequests && response.error?.code == "limit_exceeded")
            #expect(response.error?.message.contains(advice) == true, "\(String(describing: response.error))")
            #expect(response.headerFields[.retryAfter] == nil)
            limits.append(response)
        }
        // A failed write not yet taken back: 503, nothing changed, try later.
        let uncut = api.handler.errorResponse(for: StoreError.rollbackPending(path: "/x/journal.log"), to: request)
        #expect(uncut.status == .serviceUnavailable && uncut.error?.code == "unavailable")
        #expect(uncut.headerFields[.retryAfter] == "5")
        #expect(uncut.error?.message.contains("/x") == false)
        // A busy workspace: 503 with Retry-After, and no error in the log (it is load, not a fault).
        let errorsBefore = api.recorder.entries.count { $0.level == .error }
        var busy: [Response] = []
        for error in [
            StoreError.lockTimeout(path: "/x/lock", waitedMilliseconds: 5000), .tooManyWriters(limit: 12),
            .processBusy(limit: 8),
        ] {
            let response = api.handler.errorResponse(for: error, to: request)
            #expect(response.status == .serviceUnavailable && response.error?.code == "unavailable")
            #expect(response.headerFields[.retryAfter] == "1")
            #expect(response.error?.message.contains("/x") == false)
            busy.append(response)
        }
        #expect(api.recorder.entries.count { $0.level == .error } == errorsBefore)
        for response in [readOnly, full, failing, other, limit, uncut] + limits + busy {
            #expect(response.headerFields[.accessControlAllowOrigin] == "*")
        }
    }

    /// While a tenant moves between shards its writes are refused (503, Retry-After), quietly; its reads, and every
    /// other tenant, carry on.
    @Test func aFrozenTenantsWritesAre503WithRetryAfterAndItsReadsGoOn() throws {
        let api = try APIHarness(slots: 1)
        let running = try api.create(type: "gx.heavy")
        let queued = try api.create(type: "gx.heavy")
        api.clock.advance(by: 1_000)  // the first is running: a flush would remove it, a delete the second
        try api.store.freeze(TenantID(parsing: "alpha"))
        let errorsBefore = api.recorder.entries.count { $0.level == .error }
        for response in [
            api.send(.post, "/tasks", query: api.query(), body: #"{"name":"a","type":"gx.tiny"}"#),
            api.send(.post, "/tasks", query: api.query(workspace: "new"), body: #"{"name":"a","type":"gx.tiny"}"#),
            api.send(.delete, "/tasks/\(queued)", query: api.query()),
            api.send(.post, "/tasks/flush", query: api.query()),
        ] {
            #expect(response.status == .serviceUnavailable && response.error?.code == "unavailable", "\(response)")
            #expect(response.headerFields[.retryAfter] == "2")
            #expect(response.headerFields[.accessControlAllowOrigin] == "*")
        }
        #expect(api.recorder.entries.count { $0.level == .error } == errorsBefore)
        #expect(try api.list().map(\.id) == [running, queued])
        try api.create(key: api.betaKey)
        #expect(try api.store.unfreeze(TenantID(parsing: "alpha")))
        try api.create()
    }

    @Test func aDamagedJournalIs503NamingNoFileAndIsLoggedWithItsPath() throws {
        let api = try APIHarness()
        try api.create()
        try api.create(workspace: "other")
        let journal = try #require(
            Self.findFile(named: "journal.log", under: api.directory + "/workspaces/alpha/default"))
        try Data("{\"crc\":".utf8).write(to: URL(fileURLWithPath: journal))
        for response in [
            api.send(.get, "/tasks", query: api.query()),
            api.send(.post, "/tasks", query: api.query(), body: #"{"name":"a","type":"gx.tiny"}"#),
        ] {
            #expect(response.status == .serviceUnavailable)
            #expect(response.error?.code == "unavailable")
            #expect(response.error?.message.contains("journal") == false)
            #expect(!response.text.contains(api.directory))
        }
        #expect(
            api.recorder.entries.contains {
                $0.level == .error && $0.metadata["request.id"] == "test-request"
                    && "\($0.metadata["error"] ?? "")".contains(journal)
            })
        #expect(try String(contentsOfFile: journal, encoding: .utf8) == "{\"crc\":")
        // Other workspaces are unaffected.
        #expect(try api.list(workspace: "other").count == 1)
    }

    @Test func unknownErrorIs500() throws {
        struct Surprise: Error {}
        let api = try APIHarness()
        let response = api.handler.errorResponse(
            for: Surprise(), to: Request(method: .get, path: "/ws/tasks", rawQuery: ""))
        #expect(response.status == .internalServerError)
        #expect(response.error?.code == "internal_error")
        #expect(api.recorder.entries.contains { $0.level == .error })
    }

    // MARK: Order of checks

    @Test func routingComesBeforeAuthentication() throws {
        let api = try APIHarness()
        #expect(api.send(.get, "/nope", query: "").status == .notFound)
        #expect(api.send(.put, "/tasks", query: "").status == .methodNotAllowed)
    }

    @Test func authenticationComesBeforeEverythingAboutTheWorkspace() throws {
        let api = try APIHarness()
        let bad = "api_key=wrong&workspace_id=bad.id"
        #expect(api.send(.get, "/tasks", query: bad).status == .unauthorized)
        #expect(api.send(.delete, "/tasks/abc", query: bad).status == .unauthorized)
        #expect(
            api.send(.post, "/tasks", query: bad, body: "[]", headers: [.contentType: "text/plain"]).status
                == .unauthorized)
        let huge = String(repeating: "x", count: APIHandler.maximumBodyBytes + 1)
        #expect(api.send(.post, "/tasks", query: bad, body: huge).status == .unauthorized)
    }

    @Test func workspaceComesBeforeBodyAndID() throws {
        let api = try APIHarness()
        let query = api.query(workspace: "bad.id")
        let body = api.send(.post, "/tasks", query: query, body: "[]", headers: [.contentType: "text/plain"])
        #expect(body.error?.message.contains("workspace_id") == true)
        #expect(api.send(.delete, "/tasks/abc", query: query).error?.message.contains("workspace_id") == true)
    }

    // MARK: CORS

    @Test func everyAnswerAllowsAnyOriginByDefault() throws {
        let api = try APIHarness()
        let responses = [
            api.send(.get, "/tasks", query: api.query()),
            api.send(.get, "/nope", query: ""),
            api.send(.put, "/tasks", query: ""),
            api.send(.get, "/tasks", query: ""),
            api.send(.post, "/tasks", query: api.query(), body: "x"),
            api.send(.post, "/tasks/flush", query: api.query()),
            api.send(.options, "/tasks", query: ""),
        ]
        for response in responses {
            #expect(response.headerFields[.accessControlAllowOrigin] == "*")
            #expect(response.headerFields[.vary] == nil)
        }
    }

    @Test func configuredOriginsAreEchoedWithVary() throws {
        let api = try APIHarness(corsOrigins: "https://a.example, https://b.example")
        let matching = api.send(.get, "/tasks", query: api.query(), headers: [.origin: "https://b.example"])
        #expect(matching.headerFields[.accessControlAllowOrigin] == "https://b.example")
        #expect(matching.headerFields[.vary] == "Origin")
        let other = api.send(.get, "/tasks", query: "", headers: [.origin: "https://evil.example"])
        #expect(other.status == .unauthorized)
        #expect(other.headerFields[.accessControlAllowOrigin] == "https://a.example")
        #expect(other.headerFields[.vary] == "Origin")
        let noOrigin = api.send(.get, "/tasks", query: api.query())
        #expect(noOrigin.headerFields[.accessControlAllowOrigin] == "https://a.example")
    }

    @Test func preflightNeedsNoKeyAndAnswers204() throws {
        let api = try APIHarness()
        let headers: HTTPFields = [
            .origin: "https://app.example", .accessControlRequestMethod: "POST",
            .accessControlRequestHeaders: "content-type",
        ]
        let response = api.send(.options, "/tasks", query: "", headers: headers)
        #expect(response.status == .noContent)
        #expect(response.body.isEmpty)
        #expect(response.headerFields[.contentType] == nil)
        #expect(response.headerFields[.accessControlAllowOrigin] == "*")
        #expect(response.headerFields[.accessControlAllowMethods] == "GET, POST, OPTIONS")
        #expect(response.headerFields[.accessControlAllowHeaders] == "content-type")
        #expect(response.headerFields[.accessControlMaxAge] == "7200")
        let delete = api.send(.options, "/tasks/5", query: "")
        #expect(delete.headerFields[.accessControlAllowMethods] == "DELETE, OPTIONS")
        #expect(delete.headerFields[.accessControlAllowHeaders] == "Content-Type")
        #expect(
            api.send(.options, "/tasks/flush", query: "").headerFields[.accessControlAllowMethods] == "POST, OPTIONS")
        #expect(api.send(.options, "/elsewhere", query: "").status == .notFound)
    }

    @Test func preflightWithConfiguredOriginsVariesOnOriginOnce() throws {
        let api = try APIHarness(corsOrigins: "https://a.example")
        let response = api.send(
            .options, "/tasks/flush", query: "",
            headers: [.origin: "https://a.example", .accessControlRequestHeaders: "content-type"])
        #expect(response.status == .noContent)
        #expect(response.headerFields[values: .accessControlAllowOrigin] == ["https://a.example"])
        #expect(response.headerFields[values: .vary].sorted() == ["Access-Control-Request-Headers", "Origin"])
    }

    @Test func preflightDoesNotEchoOddRequestedHeaders() throws {
        let api = try APIHarness()
        let response = api.send(.options, "/tasks", query: "", headers: [.accessControlRequestHeaders: "x-a; x-b"])
        #expect(response.headerFields[.accessControlAllowHeaders] == "Content-Type")
    }

    // MARK: Tenancy

    @Test func tenantsNeverSeeEachOthersTasks() throws {
        let api = try APIHarness()
        try api.create("alpha's")
        #expect(try api.list(key: api.betaKey).isEmpty)
        #expect(api.send(.delete, "/tasks/1", query: api.query(key: api.betaKey)).status == .notFound)
        try api.create("beta's", key: api.betaKey)
        #expect(try api.list(key: api.betaKey).map(\.name) == ["beta's"])
        #expect(try api.list(key: api.betaKey).map(\.id) == [1])
        api.clock.advance(by: 1)
        #expect(api.send(.post, "/tasks/flush", query: api.query(key: api.betaKey)).status == .noContent)
        #expect(try api.list().map(\.name) == ["alpha's"])
        #expect(try api.list(key: api.betaKey).isEmpty)
    }

    @Test func openModeMakesAnyKeyItsOwnTenant() throws {
        let api = try APIHarness(openMode: true)
        try api.create("sandbox", key: "anything")
        #expect(try api.list(key: "anything").map(\.name) == ["sandbox"])
        #expect(try api.list(key: "something-else").isEmpty)
        #expect(api.send(.get, "/tasks", query: "api_key=").status == .unauthorized)
    }

    // MARK: Logging

    @Test func keysBodiesAndQueriesAreNeverLogged() throws {
        let api = try APIHarness()
        try api.create("secret-name")
        api.send(.get, "/tasks", query: api.query() + "&marker=query-marker")
        api.send(.get, "/tasks", query: "api_key=unknown-secret-key")
        api.send(.delete, "/tasks/1", query: api.query())
        let text = api.recorder.allText
        #expect(!text.contains(api.alphaKey))
        #expect(!text.contains("unknown-secret-key"))
        #expect(!text.contains("secret-name"))
        #expect(!text.contains("query-marker"))
        #expect(
            api.recorder.entries.allSatisfy {
                $0.metadata["request.id"] == "test-request" || $0.metadata["request.id"] == nil
            })
    }

    static func findFile(named name: String, under directory: String) -> String? {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return nil }
        while let relative = enumerator.nextObject() as? String {
            if (relative as NSString).lastPathComponent == name { return directory + "/" + relative }
        }
        return nil
    }
}
