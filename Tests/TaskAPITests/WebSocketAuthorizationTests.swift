import Foundation
import HTTPTypes
import TaskCore
import Testing

@testable import TaskAPI

/// `authorize` and `errorResponse`, as the WebSocket sidecar uses them before an upgrade.
@Suite struct WebSocketAuthorizationTests {
    @Test func authorizeResolvesTenantAndWorkspace() throws {
        let api = try APIHarness()
        let key = try api.handler.authorize(
            Request(method: .get, path: "/ws/tasks", rawQuery: "api_key=\(api.betaKey)&workspace_id=board"))
        #expect(
            key == WorkspaceKey(tenant: try TenantID(parsing: "beta"), workspace: try WorkspaceID(parsing: "board")))
        let defaulted = try api.handler.authorize(Request(method: .get, path: "/ws/tasks", rawQuery: api.query()))
        #expect(defaulted.workspace == .default)
    }

    @Test func authorizeChecksTheKeyBeforeTheWorkspace() throws {
        let api = try APIHarness()
        #expect(throws: AuthError.missingKey) {
            try api.handler.authorize(Request(method: .get, path: "/ws/tasks", rawQuery: "workspace_id=bad.id"))
        }
        #expect(throws: AuthError.unknownKey) {
            try api.handler.authorize(
                Request(method: .get, path: "/ws/tasks", rawQuery: "api_key=nope&workspace_id=bad.id"))
        }
        #expect(throws: ValidationError.self) {
            try api.handler.authorize(
                Request(method: .get, path: "/ws/tasks", rawQuery: api.query(workspace: "bad.id")))
        }
    }

    @Test func sidecarErrorsBecomeJSONAnswersWithCORS() throws {
        let api = try APIHarness(corsOrigins: "https://app.example")
        let request = Request(
            method: .get, path: "/ws/tasks", rawQuery: "", headerFields: [.origin: "https://app.example"])
        let cases: [(any Error, HTTPResponse.Status, String)] = [
            (AuthError.missingKey, .unauthorized, "unauthorized"),
            (AuthError.unknownKey, .unauthorized, "unauthorized"),
            (ValidationError(parameter: "workspace_id", message: "bad"), .badRequest, "invalid_request"),
            (LimitError.connections(limit: 100), .tooManyRequests, "limit_exceeded"),
            (UpgradeError.upgradeRequired, .upgradeRequired, "upgrade_required"),
        ]
        for (error, status, code) in cases {
            let response = api.handler.errorResponse(for: error, to: request)
            #expect(response.status == status)
            #expect(response.error?.code == code)
            #expect(response.headerFields[.contentType] == "application/json; charset=utf-8")
            #expect(response.headerFields[.accessControlAllowOrigin] == "https://app.example")
        }
        #expect(
            api.handler.errorResponse(for: UpgradeError.upgradeRequired, to: request).headerFields[.upgrade]
                == "websocket")
    }
}
