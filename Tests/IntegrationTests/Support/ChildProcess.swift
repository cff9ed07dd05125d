import Foundation

import Glibc

/// A process the harness started (nginx, taskd-fcgi, taskd-ws), with its stdout and stderr in a log file so that a
/// failing test can show what the process said.
// @unchecked: every stored property is a `let`; `Process` guards its own state, and the log file is only appended
// to by the child.
final class ChildProcess: @unchecked Sendable {
    let name: String
    let logFile: URL
    private let process: Process

    /// Starts the process; `standardInput` (default /dev/null) becomes its fd 0, e.g. a listening socket to inherit.
    init(
        name: String, executable: URL, arguments: [String], environment: [String: String], logDirectory: URL,
        standardInput: FileHandle = FileHandle.nullDevice
    ) throws {
        self.name = name
        self.logFile = logDirectory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: logFile)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardInput = standardInput
        process.standardOutput = output
        process.standardError = output
        self.process = process
        do {
            try process.run()
        } catch {
            throw HarnessError("Cannot start \(name) (\(executable.path)): \(error)")
        }
        try? output.close()
    }

    var isRunning: Bool { process.isRunning }
    var processID: Int32 { process.processIdentifier }
    /// The exit status (or signal number, see `terminationReason`) once the process has stopped.
    var terminationStatus: Int32 { process.terminationStatus }
    var wasKilledBySignal: Bool { process.terminationReason == .uncaughtSignal }

    func send(_ signal: Int32) {
        if process.isRunning { _ = kill(process.processIdentifier, signal) }
    }

    /// SIGTERM, then SIGKILL if the process has not exited within `grace`; returns once it has exited.
    func stop(grace: Duration = .seconds(2)) async {
        guard process.isRunning else { return }
        send(SIGTERM)
        if (try? await waitUntil("\(name) to exit after SIGTERM", timeout: grace, interval: .milliseconds(10)) {
            !self.process.isRunning
        }) != nil {
            return
        }
        await killNow()
    }

    /// SIGKILL, and wait (bounded) until the process is gone.
    func killNow() async {
        send(SIGKILL)
        try? await waitUntil("\(name) to exit after SIGKILL", timeout: .seconds(5), interval: .milliseconds(10)) {
            !self.process.isRunning
        }
    }

    /// Waits for the process to exit on its own (bounded), returning whether it did.
    func waitForExit(timeout: Duration) async -> Bool {
        (try? await waitUntil("\(name) to exit", timeout: timeout, interval: .milliseconds(10)) {
            !self.process.isRunning
        }) != nil
    }

    /// The last `limit` bytes the process wrote to stdout and stderr.
    func logTail(limit: Int = 6_000) -> String {
        guard let data = FileManager.default.contents(atPath: logFile.path) else { return "" }
        let tail = data.suffix(limit)
        return String(decoding: tail, as: UTF8.self)
    }
}
