import Foundation
import Testing

import Glibc

/// taskd-fcgi's front door against the peers nginx never is, and the signals an operator sends: whatever they do,
/// nginx's requests keep being answered, a silent or slow peer costs one worker for at most its deadline, and nothing
/// leaks. Every wait has a deadline; nothing sleeps to synchronise.
@Suite(.timeLimit(.minutes(1)))
struct RESTFrontDoorTests {
    private static func options(threads: Int, deadline: Double) -> TaskdHarness.Options {
        var options = TaskdHarness.Options()
        options.threads = threads
        options.startWebSocket = false
        options.environment["TASKD_FCGI_CONNECTION_DEADLINE"] = "\(deadline)"
        return options
    }

    /// `count` GETs at once through nginx; returns their statuses.
    private static func concurrentGets(_ harness: TaskdHarness, key: String, count: Int) async throws -> [Int] {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<count {
                group.addTask { try await harness.client.get(harness.target("/tasks", key: key)).status }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// The descriptors a process has open.
    private static func openDescriptors(_ processID: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(processID)/fd").count) ?? -1
    }

    @Test func sigusr1AndSigpipeLeaveTheResponderServing() async throws {
        try await TaskdHarness.with(Self.options(threads: 2, deadline: 3)) { harness in
            let key = try harness.issueKey()
            let responder = try #require(harness.responder)
            for signal in [SIGUSR1, SIGPIPE, SIGUSR1] {
                responder.send(signal)
                let statuses = try await Self.concurrentGets(harness, key: key, count: 4)
                #expect(statuses == [200, 200, 200, 200], "after signal \(signal)")
            }
            #expect(responder.isRunning)
        }
    }

    @Test func aSilentPeerHoldsOneWorkerWhileSixteenClientsAreAnsweredAndSigtermStillEndsTheProcess() async throws {
        let deadline = 2.0
        try await TaskdHarness.with(Self.options(threads: 4, deadline: deadline)) { harness in
            let key = try harness.issueKey()
            let responder = try #require(harness.responder)
            let silent = try FastCGIPeer(path: harness.fcgiSocket.path)
            try silent.send([1])
            let statuses = try await Self.concurrentGets(harness, key: key, count: 16)
            #expect(statuses == Array(repeating: 200, count: 16))

            let clock = ContinuousClock()
            let signalled = clock.now
            responder.send(SIGTERM)
            // The drain limit is twice the deadline plus a second; allow two more for a loaded machine.
            #expect(await responder.waitForExit(timeout: .seconds(deadline * 2 + 3)), "no exit after SIGTERM")
            let took = clock.now - signalled
            #expect(!responder.wasKilledBySignal && responder.terminationStatus == 0, "\(responder.logTail())")
            try await silent.waitForEnd(timeout: .seconds(2))
            #expect(silent.received.isEmpty)
            #expect(took < .seconds(deadline * 2 + 3))
        }
    }

    @Test func asManySilentPeersAsWorkersDelayRequestsOnlyUntilTheirDeadline() async throws {
        try await TaskdHarness.with(Self.options(threads: 2, deadline: 1)) { harness in
            let key = try harness.issueKey()
            let peers = try (0..<2).map { _ in try FastCGIPeer(path: harness.fcgiSocket.path) }
            for peer in peers { try peer.send([1]) }
            // Both workers are held; the GET waits in the listen queue until the deadline frees one.
            #expect(try await harness.client.get(harness.target("/tasks", key: key)).status == 200)
            for peer in peers {
                try await peer.waitForEnd(timeout: .seconds(5))
                #expect(peer.received.isEmpty, "a silent peer got an answer")
            }
        }
    }

    @Test func peersThatSendPartOfARequestAndCloseAreLetGoAtOnce() async throws {
        // A deadline far beyond the test's: only an immediate release lets the GETs through two workers.
        try await TaskdHarness.with(Self.options(threads: 2, deadline: 30)) { harness in
            let key = try harness.issueKey()
            let request = FastCGIRecord.request([("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", "/tasks")])
            let fragments: [[UInt8]] = [
                Array(request.prefix(3)),  // half a record header
                Array(request.prefix(12)),  // a begin record cut in its body
                Array(request.prefix(FastCGIRecord.begin().count + 11)),  // parameters cut in the middle
                FastCGIRecord.begin() + FastCGIRecord.parameters([("REQUEST_METHOD", "GET")]),  // no end of params
                [9, 9, 9, 9, 9, 9, 9, 9],  // not FastCGI at all
                [],  // nothing
            ]
            for round in 0..<4 {
                for fragment in fragments {
                    let peer = try FastCGIPeer(path: harness.fcgiSocket.path)
                    if !fragment.isEmpty { try peer.send(fragment) }
                    if round % 2 == 0 {
                        peer.close()
                    } else {
                        peer.finishSending()
                        try await peer.waitForEnd(timeout: .seconds(5))
                        peer.close()
                    }
                }
            }
            let statuses = try await Self.concurrentGets(harness, key: key, count: 8)
            #expect(statuses == Array(repeating: 200, count: 8))
            let log = try #require(harness.responder).logTail()
            #expect(!log.contains(" error ") && !log.contains(" critical "), "\(log)")
        }
    }

    @Test func aThousandConnectsThatCloseAtOnceLeaveNothingBehind() async throws {
        try await TaskdHarness.with(Self.options(threads: 4, deadline: 30)) { harness in
            let key = try harness.issueKey()
            let responder = try #require(harness.responder)
            #expect(try await harness.client.get(harness.target("/tasks", key: key)).status == 200)
            let before = Self.openDescriptors(responder.processID)
            // Four rounds of 250 connections opened, then all closed together (250 keeps the test process well
            // below a default limit of 1,024 open files); in every other round each first sends one byte.
            for round in 0..<4 {
                let peers = try (0..<250).map { _ in try FastCGIPeer(path: harness.fcgiSocket.path) }
                if round % 2 == 1 { for peer in peers { try peer.send([1]) } }
                for peer in peers { peer.close() }
            }
            let statuses = try await Self.concurrentGets(harness, key: key, count: 8)
            #expect(statuses == Array(repeating: 200, count: 8))
            // Every accepted connection and its duplicate for libfcgi are closed again.
            try await waitUntil("taskd-fcgi's descriptors to come back to \(before)") {
                Self.openDescriptors(responder.processID) <= before
            }
            #expect(responder.isRunning)
            let log = responder.logTail()
            #expect(!log.contains(" warning ") && !log.contains(" error "), "\(log)")
        }
    }

    @Test func aPeerSendingOneByteASecondIsCutAtItsDeadline() async throws {
        let deadline = 1.5
        try await TaskdHarness.with(Self.options(threads: 2, deadline: deadline)) { harness in
            let key = try harness.issueKey()
            let request = FastCGIRecord.request([("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", "/tasks")])
            let peer = try FastCGIPeer(path: harness.fcgiSocket.path)
            let clock = ContinuousClock()
            let started = clock.now
            var sent = 0
            // One byte a second until the responder gives up on the peer (the request is 100 bytes long).
            while !peer.sawEnd, sent < request.count, clock.now - started < .seconds(deadline + 5) {
                do {
                    try peer.send([request[sent]])
                } catch {
                    break  // the responder has cut the connection
                }
                sent += 1
                try? await peer.waitForEnd(timeout: .seconds(1))
            }
            let took = clock.now - started
            try await peer.waitForEnd(timeout: .seconds(2))
            #expect(sent < request.count, "the whole request trickled through")
            #expect(took < .seconds(deadline + 3), "cut after \(took)")
            #expect(peer.received.isEmpty)
            #expect(try await harness.client.get(harness.target("/tasks", key: key)).status == 200)
        }
    }

    @Test func aMethodThatIsNotAnHTTPTokenIsAnsweredAsAnInvalidRequest() async throws {
        try await TaskdHarness.with(Self.options(threads: 2, deadline: 3)) { harness in
            let key = try harness.issueKey()
            let query = "api_key=\(key)"
            let cases: [([(String, String)], Int, String)] = [
                (
                    [("REQUEST_METHOD", "GE T"), ("DOCUMENT_URI", "/tasks"), ("QUERY_STRING", query)], 400,
                    "invalid_request"
                ),
                ([("DOCUMENT_URI", "/tasks"), ("QUERY_STRING", query)], 400, "invalid_request"),
                (
                    [("REQUEST_METHOD", "PURGE"), ("DOCUMENT_URI", "/tasks"), ("QUERY_STRING", query)], 405,
                    "method_not_allowed"
                ),
                ([("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", "/tasks"), ("QUERY_STRING", query)], 200, "tasks"),
            ]
            for (parameters, status, expected) in cases {
                let peer = try FastCGIPeer(path: harness.fcgiSocket.path)
                try peer.send(FastCGIRecord.request(parameters))
                try await peer.waitForEnd(timeout: .seconds(5))
                let answer = peer.answer
                #expect(answer.status == status, "\(parameters): \(answer)")
                #expect(answer.body.contains(expected), "\(parameters): \(answer)")
            }
        }
    }

    @Test func aBodyThatDoesNotMatchItsContentLengthIsA400AndCreatesNothing() async throws {
        try await TaskdHarness.with(Self.options(threads: 2, deadline: 3)) { harness in
            let key = try harness.issueKey()
            // A whole JSON object: were the body taken as it arrived, it would create a task.
            let body = Array(#"{"name":"cut","type":"gx.tiny"}"#.utf8)
            func request(length: String) -> [UInt8] {
                FastCGIRecord.begin()
                    + FastCGIRecord.parameters([
                        ("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/tasks"), ("QUERY_STRING", "api_key=\(key)"),
                        ("CONTENT_TYPE", "application/json"), ("CONTENT_LENGTH", length),
                    ]) + FastCGIRecord.record(type: FastCGIRecord.params, content: [])
            }
            let stdin = { (bytes: [UInt8]) in FastCGIRecord.record(type: FastCGIRecord.stdin, content: bytes) }
            let cases: [(String, [UInt8], Bool)] = [
                // Its stdin ends (the empty record) ten bytes early.
                ("stdin ended early", request(length: "\(body.count + 10)") + stdin(body) + stdin([]), false),
                // The peer stops sending (half-closes) ten bytes early, without ending its stdin.
                ("connection ended early", request(length: "\(body.count + 10)") + stdin(body), true),
                // More than announced (blanks after the object).
                ("longer", request(length: "\(body.count)") + stdin(body + Array("   ".utf8)) + stdin([]), false),
                ("negative length", request(length: "-1") + stdin(body) + stdin([]), false),
                ("not a number", request(length: "3l") + stdin(body) + stdin([]), false),
                ("absurd length", request(length: "99999999999999999999") + stdin(body) + stdin([]), false),
            ]
            for (name, bytes, halfClose) in cases {
                let peer = try FastCGIPeer(path: harness.fcgiSocket.path)
                try peer.send(bytes)
                if halfClose { peer.finishSending() }
                try await peer.waitForEnd(timeout: .seconds(5))
                let answer = peer.answer
                #expect(answer.status == 400, "\(name): \(answer)")
                #expect(answer.body.contains("invalid_request") && answer.body.contains("CONTENT_LENGTH"), "\(name)")
            }
            #expect(try await harness.listTasks(key: key).isEmpty, "a refused body created a task")
            // The same request with the length it has is served.
            let peer = try FastCGIPeer(path: harness.fcgiSocket.path)
            try peer.send(request(length: "\(body.count)") + stdin(body) + stdin([]))
            try await peer.waitForEnd(timeout: .seconds(5))
            #expect(peer.answer.status == 201, "\(peer.answer)")
            #expect(try await harness.listTasks(key: key).map(\.name) == ["cut"])
        }
    }

    @Test func anAcceptFailureThatCannotRecoverEndsTheProcessWithAFailureStatus() async throws {
        try await TaskdHarness.with(Self.options(threads: 2, deadline: 3)) { harness in
            // A responder on a listening socket handed over as fd 0 (as spawn-fcgi does), of which the test keeps a
            // copy: shutting that socket down for reading makes every accept() on it fail with EINVAL for good.
            let path = harness.prefix.appendingPathComponent("inherited.sock").path
            let listening = try TaskdHarness.listen(on: path)
            defer { close(listening) }
            var environment = harness.serverEnvironment
            environment["TASKD_FCGI_SOCKET"] = nil
            let input = FileHandle(fileDescriptor: dup(listening), closeOnDealloc: true)
            let responder = try ChildProcess(
                name: "taskd-fcgi-inherited",
                executable: try PackagePaths.binaryDirectory().appendingPathComponent(
                    "taskd-fcgi"), arguments: [], environment: environment,
                logDirectory: harness.prefix.appendingPathComponent("logs"), standardInput: input)
            try input.close()
            do {
                try await waitUntil("the responder to answer on the inherited socket") {
                    let peer = try FastCGIPeer(path: path)
                    try peer.send(FastCGIRecord.request([("REQUEST_METHOD", "GET"), ("DOCUMENT_URI", "/tasks")]))
                    try await peer.waitForEnd(timeout: .seconds(2))
                    return peer.answer.status == 401
                }
            } catch {
                await responder.stop()
                throw error
            }
            _ = shutdown(listening, Int32(SHUT_RD))
            let exited = await responder.waitForExit(timeout: .seconds(5))
            await responder.stop()
            #expect(exited, "still running with an unusable socket")
            #expect(!responder.wasKilledBySignal && responder.terminationStatus == 1, "\(responder.logTail())")
            #expect(responder.logTail().contains("listening socket is unusable"))
        }
    }
}
