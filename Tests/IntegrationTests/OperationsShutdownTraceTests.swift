import Foundation
import Testing

import Glibc

/// A shutdown with silent peers connected, while clients create tasks, watched by strace: taskd-fcgi exits 0 within
/// its drain limit, closes or shuts down no descriptor it does not own, and loses no acknowledged task.
@Suite(.timeLimit(.minutes(1)))
struct OperationsShutdownTraceTests {
    static let deadline = 1.0
    static let clients = 6
    static let acknowledgedBeforeSignal = 40

    @Test func shutdownWithSilentPeersClosesNoDescriptorItDoesNotOwnAndLosesNoTask() async throws {
        var options = TaskdHarness.Options()
        options.threads = 4
        options.startWebSocket = false
        options.environment["TASKD_FCGI_CONNECTION_DEADLINE"] = "\(Self.deadline)"
        // Under AddressSanitizer (the sanitizer runs of this suite), LeakSanitizer cannot work in a traced process
        // and would end it with an error at exit.
        let asanOptions = ProcessInfo.processInfo.environment["ASAN_OPTIONS"].map { $0 + ":" } ?? ""
        options.environment["ASAN_OPTIONS"] = asanOptions + "detect_leaks=0"
        try await TaskdHarness.with(options) { harness in
            let key = try harness.issueKey()
            let responder = try #require(harness.responder)
            let processID = responder.processID
            let listening = try #require(Self.listeningDescriptor(of: processID, path: harness.fcgiSocket.path))
            // The responder is idle (every worker in accept), so nothing opens or closes between this and the attach.
            let preexisting = Self.descriptors(of: processID)
            let traceFile = harness.prefix.appendingPathComponent("logs/descriptors.strace")
            let tracer = try ChildProcess(
                name: "strace", executable: URL(fileURLWithPath: "/usr/bin/strace"),
                arguments: [
                    "-f", "-qq", "-e", "trace=%desc,%net,%process", "-o", traceFile.path, "-p", "\(processID)",
                ],
                environment: ProcessInfo.processInfo.environment,
                logDirectory: harness.prefix.appendingPathComponent("logs"))
            do {
                try await waitUntil("strace to attach to every thread of taskd-fcgi") {
                    Self.isTracedEntirely(processID, by: tracer.processID)
                }
                try await Self.loadThenSignal(harness, key: key, responder: responder)
                #expect(
                    await responder.waitForExit(timeout: .seconds(Self.deadline * 2 + 4)), "no exit after SIGTERM")
                #expect(!responder.wasKilledBySignal && responder.terminationStatus == 0, "\(responder.logTail())")
                #expect(await tracer.waitForExit(timeout: .seconds(5)), "strace did not end with taskd-fcgi")
            } catch {
                await tracer.stop()
                throw error
            }

            let log = try String(contentsOf: traceFile, encoding: .utf8)
            let trace = DescriptorTrace(log: log, listeningDescriptor: listening, preexisting: preexisting)
            #expect(trace.violations.isEmpty, "\(trace.violations.prefix(20).joined(separator: "\n"))")
            #expect(trace.connectionsAccepted >= Self.acknowledgedBeforeSignal)
            #expect(trace.connectionsShutDown >= 2, "the silent peers were not cut at their deadline")
        }
    }

    /// Two silent peers and a partial request, then creates from several clients; SIGTERM once enough are
    /// acknowledged. Afterwards every acknowledged task is in the workspace, read by a new responder.
    private static func loadThenSignal(_ harness: TaskdHarness, key: String, responder: ChildProcess) async throws {
        let silent = try (0..<2).map { _ in try FastCGIPeer(path: harness.fcgiSocket.path) }
        for peer in silent { try peer.send([1]) }
        let partial = try FastCGIPeer(path: harness.fcgiSocket.path)
        try partial.send(FastCGIRecord.begin())
        let tally = OperationsShutdownTests.LoadTally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    for index in 0..<200 {
                        guard
                            let answer = try? await harness.client.post(
                                harness.target("/tasks", key: key, workspace: "traced"),
                                json: TaskdHarness.taskBody(name: "c\(client)-\(index)", type: "gx.heavy"))
                        else { continue }
                        if answer.status != 201 {
                            if tally.signalled.withLock({ $0 }) { return }
                            continue
                        }
                        let id = try #require((try answer.jsonObject()["task"] as? [String: Any])?["id"] as? Int)
                        let count = tally.acknowledged.withLock { ids in
                            ids.append(id)
                            return ids.count
                        }
                        if count == acknowledgedBeforeSignal {
                            tally.signalled.withLock { $0 = true }
                            responder.send(SIGTERM)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(tally.signalled.withLock { $0 }, "the load finished before the signal was sent")
        _ = await responder.waitForExit(timeout: .seconds(deadline * 2 + 4))
        try harness.startResponder()
        try await harness.waitUntilReady()
        let ids = Set(tally.acknowledged.withLock { $0 })
        let stored = Set(try await harness.listTasks(key: key, workspace: "traced").map(\.id))
        #expect(ids.subtracting(stored).isEmpty, "acknowledged but lost: \(ids.subtracting(stored).sorted())")
    }

    /// The open descriptor numbers of a process.
    static func descriptors(of processID: Int32) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(processID)/fd")) ?? []
        return names.compactMap { Int($0) }
    }

    /// The descriptor on which `processID` listens at the unix socket `path` (from /proc/net/unix and /proc/PID/fd).
    static func listeningDescriptor(of processID: Int32, path: String) -> Int? {
        guard let table = procFile("/proc/net/unix") else { return nil }
        // Num RefCount Protocol Flags Type St Inode Path; flags 00010000 is __SO_ACCEPTCON (listening).
        let inodes = table.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 8, fields[7] == path, fields[3] == "00010000" else { return nil }
            return String(fields[6])
        }
        for fd in descriptors(of: processID) {
            let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(processID)/fd/\(fd)")
            if let link, inodes.contains(where: { link == "socket:[\($0)]" }) { return fd }
        }
        return nil
    }

    /// Whether every thread of `processID` has `tracer` as its tracer.
    static func isTracedEntirely(_ processID: Int32, by tracer: Int32) -> Bool {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(processID)/task") else {
            return false
        }
        return threads.allSatisfy { thread in
            let status = procFile("/proc/\(processID)/task/\(thread)/status") ?? ""
            return status.split(separator: "\n").contains { $0 == "TracerPid:\t\(tracer)" }
        }
    }

    /// A /proc file's text (they report a size of 0, so it is read until EOF).
    static func procFile(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path), let data = try? handle.readToEnd() else { return nil }
        try? handle.close()
        return String(decoding: data, as: UTF8.self)
    }
}
