import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The stream never misses a committed change: a writer killed between committing a change and announcing it in
/// the change log (`taskd-store-probe`, armed to SIGKILL itself there) still has its change reach every subscriber
/// within a second, through real nginx and taskd-ws.
@Suite(.timeLimit(.minutes(1)))
struct WebSocketCrashTests {
    @Test(arguments: ["after-append", "after-sync"])
    func aWriterKilledBeforeLoggingItsChangeStillReachesSubscribersWithinASecond(point: String) async throws {
        try await TaskdHarness.with(WebSocketTests.options()) { harness in
            let key = try harness.issueKey()
            let first = try await harness.createTask(key: key, workspace: "watched", type: "gx.heavy")
            let client = try await harness.openWebSocket(key: key, workspace: "watched")
            try await client.waitForFrames("the first list") { $0.count == 1 }

            var environment = harness.serverEnvironment
            environment["TASKD_STORE_FAULT"] = point
            let probe = try await OperationsCommand.run(
                OperationsCommand.binDirectory + "/taskd-store-probe",
                ["create", harness.stateDirectory.path, "acme", "watched", "1"], environment: environment,
                timeout: .seconds(20))
            let killed = ContinuousClock.now
            // Killed by its own SIGKILL (the shell convention 128 + 9 as Process reports it), nothing acknowledged.
            #expect(probe.status == SIGKILL && probe.stdout.isEmpty, "\(probe)")
            // The change is committed but the change log never heard of it.
            let log = try String(
                contentsOf: harness.stateDirectory.appendingPathComponent("changes.log"), encoding: .utf8)
            #expect(log.split(separator: "\n").filter { $0.contains(#""workspace":"watched""#) }.count == 1)
            #expect(try await harness.listTasks(key: key, workspace: "watched").map(\.id) == [first.id, first.id + 1])

            let frames = try await client.waitForFrames("the list with the unannounced task", timeout: .seconds(1)) {
                (try? WebSocketClient.tasks(in: $0.last ?? "[]").count) == 2
            }
            let delay = ContinuousClock.now - killed
            #expect(try WebSocketClient.tasks(in: frames.last ?? "").map(\.id) == [first.id, first.id + 1])
            #expect(delay < .seconds(1), "\(delay)")
            await client.close()
        }
    }
}
