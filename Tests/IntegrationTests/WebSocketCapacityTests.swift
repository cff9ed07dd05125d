import Foundation
import Testing

/// taskd-ws started with a low open-files limit (`ulimit -n`): it serves the connections its budget allows, answers
/// 503 before any upgrade beyond it, keeps descriptors for the change log and workspace reads, and never closes a
/// stream because descriptors ran out.
@Suite(.timeLimit(.minutes(2)))
struct WebSocketCapacityTests {
    static let fileLimit = 160

    @Test func aLowOpenFilesLimitServesItsBudgetRefusesBeyondItAndKeepsEveryStream() async throws {
        var options = WebSocketTests.options(environment: ["TASKD_MAX_WS_CONNECTIONS": "100000"])
        options.webSocketFileLimit = Self.fileLimit
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let budget = try harness.webSocketConnectionBudget()
            #expect(budget > 10 && budget < Self.fileLimit - 64, "budget \(budget)")
            let workspaces = ["w0", "w1", "w2"]
            var clients: [WebSocketClient] = []
            var refusal: WebSocketClient.Rejected?
            // The readiness probe's connection may still be closing: allow it one place.
            for index in 0..<(budget + 2) {
                do {
                    clients.append(try await harness.openWebSocket(key: key, workspace: workspaces[index % 3]))
                } catch let rejected as WebSocketClient.Rejected {
                    refusal = rejected
                    break
                }
            }
            #expect(clients.count >= budget - 1 && clients.count <= budget, "\(clients.count) served of \(budget)")
            let refused = try #require(refusal, "every connection was upgraded")
            expectError(refused.answer, status: 503, code: "unavailable")
            #expect(refused.answer.header("Retry-After") != nil, "\(refused.answer)")

            // At the budget, a double rotation makes the sidecar open the new log and read every watched workspace
            // again: the descriptors it keeps for that are there, and every stream goes on.
            for client in clients { try await client.waitForFrames("the first frame") { !$0.isEmpty } }
            try harness.rotateChangeLog()
            try harness.rotateChangeLog()
            for workspace in workspaces {
                _ = try await harness.createTask(
                    key: key, workspace: workspace, name: "at the budget", type: "gx.heavy")
            }
            var expected: [String: [WireTask]] = [:]
            for workspace in workspaces {
                expected[workspace] = try await harness.listTasks(key: key, workspace: workspace)
            }
            for (index, client) in clients.enumerated() {
                try await client.waitForFrames("the list after the rotations", timeout: .seconds(10)) { frames in
                    frames.last.flatMap { try? WebSocketClient.tasks(in: $0) } == expected[workspaces[index % 3]]
                }
            }
            #expect(clients.allSatisfy { !$0.isClosed })
            let log = harness.webSocket?.logTail(limit: 200_000) ?? ""
            #expect(!log.contains("closing its connections"), "\(log.suffix(2_000))")
            #expect(!log.contains("Too many open files"), "\(log.suffix(2_000))")

            // A stream that ends frees its place.
            await clients.removeLast().close()
            try await waitUntil("a freed place to be served") {
                guard let client = try? await harness.openWebSocket(key: key, workspace: "w0") else { return false }
                clients.append(client)
                return true
            }
            for client in clients { await client.close() }
        }
    }
}

extension TaskdHarness {
    /// The number of connections taskd-ws said at startup it would serve (`connections.max` in its log).
    func webSocketConnectionBudget() throws -> Int {
        let log = webSocket?.logTail(limit: 100_000) ?? ""
        guard let match = log.firstMatch(of: /connections\.max=(\d+)/), let budget = Int(match.output.1) else {
            throw HarnessError("taskd-ws logged no connection budget:\n\(log)")
        }
        return budget
    }
}
