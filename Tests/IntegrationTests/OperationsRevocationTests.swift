import Foundation
import Testing

/// Keys issued and revoked with `taskctl` take effect on the running servers within a second, without a restart:
/// REST through taskd-fcgi and new WebSocket connections through taskd-ws.
@Suite(.timeLimit(.minutes(1)))
struct OperationsRevocationTests {
    @Test func taskctlKeysTakeEffectOnARunningResponderWithinOneSecond() async throws {
        try await TaskdHarness.with { harness in
            var environment = harness.serverEnvironment
            environment["TASKD_ENV_FILE"] = harness.prefix.appendingPathComponent("no-env-file").path
            func taskctl(_ arguments: String...) async throws -> OperationsCommand.Result {
                try await OperationsCommand.run(
                    OperationsCommand.binDirectory + "/taskctl", arguments, environment: environment,
                    timeout: .seconds(20))
            }

            let added = try await taskctl("key", "add", "acme", "--json")
            #expect(added.status == 0, "\(added)")
            let issued = try #require(
                try JSONSerialization.jsonObject(with: Data(added.stdout.utf8)) as? [String: Any], "\(added)")
            let key = try #require(issued["key"] as? String)
            let id = try #require((issued["entry"] as? [String: Any])?["id"] as? String)

            let accepted = ContinuousClock.now
            try await waitUntil("the new key to be accepted", timeout: .seconds(1), interval: .milliseconds(10)) {
                try await harness.client.get(harness.target("/tasks", key: key)).status == 200
            }
            let acceptedAfter = ContinuousClock.now - accepted
            _ = try await harness.createTask(key: key, name: "before revocation")
            // taskd-ws reads the same keys file.
            try await waitUntil("taskd-ws to accept the new key", timeout: .seconds(1), interval: .milliseconds(10)) {
                let socket = try await harness.openWebSocket(key: key)
                await socket.close()
                return true
            }

            let revoked = try await taskctl("key", "revoke", id)
            #expect(revoked.status == 0, "\(revoked)")
            let refused = ContinuousClock.now
            try await waitUntil("the revoked key to be refused", timeout: .seconds(1), interval: .milliseconds(10)) {
                try await harness.client.get(harness.target("/tasks", key: key)).status == 401
            }
            let refusedAfter = ContinuousClock.now - refused
            try await waitUntil("taskd-ws to refuse the revoked key", timeout: .seconds(1), interval: .milliseconds(10))
            {
                do {
                    let socket = try await harness.openWebSocket(key: key)
                    await socket.close()
                    return false
                } catch let rejected as WebSocketClient.Rejected {
                    return rejected.status == 401
                }
            }
            let refusedByBothAfter = ContinuousClock.now - refused
            // And it stays refused, on every endpoint.
            expectError(
                try await harness.client.post(
                    harness.target("/tasks", key: key), json: TaskdHarness.taskBody(name: "after", type: "gx.tiny")),
                status: 401, code: "unauthorized")
            #expect(try await harness.client.get(harness.target("/tasks", key: key)).status == 401)
            #expect(acceptedAfter < .seconds(1) && refusedAfter < .seconds(1), "\(acceptedAfter), \(refusedAfter)")
            #expect(refusedByBothAfter < .seconds(1), "\(refusedByBothAfter)")
        }
    }
}
