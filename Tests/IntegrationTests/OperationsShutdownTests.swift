import Foundation
import Synchronization
import Testing

import Glibc

/// SIGTERM while clients are creating tasks: the responder drains and exits 0, and every create that was answered
/// 201 is in the workspace once a new responder serves it.
@Suite(.timeLimit(.minutes(1)))
struct OperationsShutdownTests {
    /// What the clients saw, shared between their tasks.
    final class LoadTally: Sendable {
        let acknowledged = Mutex<[Int]>([])
        let signalled = Mutex(false)
        /// Answers other than 201, by status (0: the exchange itself failed).
        let otherAnswers = Mutex<[Int: Int]>([:])
    }

    static let clients = 8
    static let createsPerClient = 150
    /// SIGTERM goes out once this many creates were acknowledged.
    static let acknowledgedBeforeSignal = 120

    @Test func sigtermDuringLoadLosesNoAcknowledgedTask() async throws {
        var options = TaskdHarness.Options()
        options.threads = 4
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey(tenant: "acme")
            let responder = try #require(harness.responder)
            let tally = LoadTally()

            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<Self.clients {
                    group.addTask {
                        for index in 0..<Self.createsPerClient {
                            let answer: HTTPAnswer
                            do {
                                answer = try await harness.client.post(
                                    harness.target("/tasks", key: key, workspace: "load"),
                                    json: TaskdHarness.taskBody(name: "c\(client)-\(index)", type: "gx.tiny"))
                            } catch {
                                // nginx itself never goes away here; a failed exchange is not an acknowledgement.
                                tally.otherAnswers.withLock { $0[0, default: 0] += 1 }
                                continue
                            }
                            guard answer.status == 201 else {
                                tally.otherAnswers.withLock { $0[answer.status, default: 0] += 1 }
                                // Once the responder is gone nginx answers 502: this client is done.
                                if tally.signalled.withLock({ $0 }) { return }
                                continue
                            }
                            let id = try #require((try answer.jsonObject()["task"] as? [String: Any])?["id"] as? Int)
                            let count = tally.acknowledged.withLock { ids in
                                ids.append(id)
                                return ids.count
                            }
                            if count == Self.acknowledgedBeforeSignal {
                                tally.signalled.withLock { $0 = true }
                                responder.send(SIGTERM)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }

            #expect(tally.signalled.withLock { $0 }, "the load finished before the signal was sent")
            #expect(await responder.waitForExit(timeout: .seconds(5)), "taskd-fcgi did not exit after SIGTERM")
            #expect(!responder.wasKilledBySignal && responder.terminationStatus == 0, "\(responder.logTail())")
            let others = tally.otherAnswers.withLock { $0 }
            // Refused work is 502/503/504 from nginx, never another answer.
            #expect(others.keys.allSatisfy { [0, 502, 503, 504].contains($0) }, "\(others)")

            try harness.startResponder()
            try await harness.waitUntilReady()
            let ids = tally.acknowledged.withLock { $0 }
            #expect(Set(ids).count == ids.count, "an id was acknowledged twice")
            let stored = Set(try await harness.listTasks(key: key, workspace: "load").map(\.id))
            let lost = Set(ids).subtracting(stored)
            #expect(lost.isEmpty, "acknowledged but lost: \(lost.sorted())")
            #expect(ids.count >= Self.acknowledgedBeforeSignal)
        }
    }
}
