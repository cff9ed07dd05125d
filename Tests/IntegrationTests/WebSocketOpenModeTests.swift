import Foundation
import Testing

/// Open mode, where any non-empty key is a tenant of its own: the per-tenant limit bounds nothing there, so taskd-ws
/// also counts the connections of all tenants together and refuses one more before the upgrade.
@Suite(.timeLimit(.minutes(1)))
struct WebSocketOpenModeTests {
    @Test func openModeRefusesConnectionsBeyondItsLimitOfAllTenantsTogether() async throws {
        var options = WebSocketTests.options(environment: ["TASKD_OPEN_MAX_WS_CONNECTIONS": "3"])
        options.openMode = true
        try await TaskdHarness.with(options) { harness in
            var clients: [WebSocketClient] = []
            for index in 0..<3 { clients.append(try await harness.openWebSocket(key: "sandbox-key-\(index)")) }
            do {
                let extra = try await harness.openWebSocket(key: "sandbox-key-new")
                Issue.record("a fourth connection, of a fourth tenant, was upgraded")
                await extra.close()
            } catch let rejected as WebSocketClient.Rejected {
                expectError(rejected.answer, status: 429, code: "limit_exceeded")
                #expect(rejected.answer.header("Retry-After") == "5", "\(rejected.answer)")
            }
            // A closed connection frees its place, for any tenant.
            await clients.removeFirst().close()
            try await waitUntil("a freed place to be usable") {
                guard let client = try? await harness.openWebSocket(key: "sandbox-key-new") else { return false }
                clients.append(client)
                return true
            }
            for client in clients { await client.close() }
        }
    }

    @Test func outsideOpenModeOnlyTheTenantLimitApplies() async throws {
        let options = WebSocketTests.options(environment: ["TASKD_OPEN_MAX_WS_CONNECTIONS": "1"])
        try await TaskdHarness.with(options) { harness in
            let clients = [
                try await harness.openWebSocket(key: try harness.issueKey(tenant: "one")),
                try await harness.openWebSocket(key: try harness.issueKey(tenant: "two")),
            ]
            for client in clients { await client.close() }
        }
    }
}
