import Foundation
import Testing

import Glibc

/// taskd-fcgi started the way systemd starts it: the listening socket handed over as fd 3 (`LISTEN_FDS`), here by
/// `systemd-socket-activate` from Debian's systemd package, serving real requests through nginx.
@Suite(.timeLimit(.minutes(1)))
struct OperationsSocketActivationTests {
    @Test func socketActivatedResponderServesThroughNginxAndStopsCleanly() async throws {
        try await TaskdHarness.with { harness in
            let activated = try await OperationsSocketActivation.replaceResponder(of: harness)
            do {
                let key = try harness.issueKey(tenant: "acme")
                let created = try await harness.createTask(key: key, name: "activated")
                #expect(created.status == "queued")
                let tasks = try await harness.listTasks(key: key)
                #expect(tasks.map(\.id) == [created.id])
                #expect(try await harness.client.get(harness.target("/tasks", key: "nope")).status == 401)
                // It serves the socket it was handed: it never created one of its own.
                #expect(activated.logTail().contains("Execing"), "\(activated.logTail())")

                activated.send(SIGTERM)
                #expect(await activated.waitForExit(timeout: .seconds(5)), "taskd-fcgi ignored SIGTERM")
                #expect(!activated.wasKilledBySignal && activated.terminationStatus == 0, "\(activated.logTail())")
            } catch {
                await activated.stop()
                throw OperationsSocketActivation.Failure(
                    "\(error)\n--- socket-activated taskd-fcgi ---\n\(activated.logTail())")
            }
            await activated.stop()
        }
    }
}

/// Runs the harness's responder under `systemd-socket-activate` instead, on the same socket path nginx uses.
enum OperationsSocketActivation {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Stops the harness's own taskd-fcgi and starts one under systemd-socket-activate; the caller stops it.
    static func replaceResponder(of harness: TaskdHarness) async throws -> ChildProcess {
        let activate = try #require(
            OperationsCommand.which("systemd-socket-activate"), "systemd-socket-activate (package systemd) is missing")
        await harness.responder?.stop()
        try? FileManager.default.removeItem(at: harness.fcgiSocket)
        let environment = harness.serverEnvironment
        // systemd-socket-activate passes only what -E names (and PATH, HOME, ...): hand over every setting.
        var arguments = ["--listen=\(harness.fcgiSocket.path)"]
        for name in environment.keys.sorted() where name.hasPrefix("TASKD_") && name != "TASKD_FCGI_SOCKET" {
            arguments += ["-E", name]
        }
        arguments.append(OperationsCommand.binDirectory + "/taskd-fcgi")
        let child = try ChildProcess(
            name: "taskd-fcgi-activated", executable: URL(fileURLWithPath: activate), arguments: arguments,
            environment: environment, logDirectory: harness.prefix.appendingPathComponent("logs"))
        do {
            // The first connection makes systemd-socket-activate exec taskd-fcgi; the request waits in the backlog.
            try await waitUntil("the socket-activated responder to answer through nginx") {
                guard child.isRunning else { throw Failure("systemd-socket-activate exited: \(child.logTail())") }
                return try await harness.client.get("/tasks").status == 401
            }
        } catch {
            await child.stop()
            throw error
        }
        return child
    }
}
