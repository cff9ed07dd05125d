import Foundation
import Testing

import Glibc

/// `GET /ws/tasks` through real nginx, with real WebSocket clients, against real taskd-fcgi and taskd-ws processes.
@Suite(.timeLimit(.minutes(1)))
struct WebSocketTests {
    /// Real durations (gx.heavy runs 150 s or more), so nothing moves by itself during a test unless it says so.
    static func options(slots: Int = 6, timeScale: Double = 1, environment: [String: String] = [:])
        -> TaskdHarness.Options
    {
        var options = TaskdHarness.Options()
        options.startWebSocket = true
        options.slots = slots
        options.timeScale = timeScale
        options.environment = environment
        return options
    }

    @Test func theFirstFrameIsTheCurrentList() async throws {
        try await TaskdHarness.with(Self.options()) { harness in
            let key = try harness.issueKey()
            _ = try await harness.createTask(key: key, name: "one", type: "gx.heavy")
            _ = try await harness.createTask(key: key, name: "two", type: "gx.heavy")
            let expected = try await harness.listTasks(key: key)
            let client = try await harness.openWebSocket(key: key)
            let frames = try await client.waitForFrames("the first frame") { !$0.isEmpty }
            #expect(try WebSocketClient.tasks(in: frames[0]) == expected)
            await client.close()
        }
    }

    @Test func everyRESTChangeSendsTheListAsItNowIs() async throws {
        try await TaskdHarness.with(Self.options(slots: 1)) { harness in
            let key = try harness.issueKey()
            let client = try await harness.openWebSocket(key: key, workspace: "board")
            try await client.waitForFrames("the empty list") { $0 == ["[]"] }

            var seen = client.frames.count
            /// Runs one change, then waits for a new frame that equals GET /tasks.
            func expectFrame(after change: () async throws -> Void) async throws {
                try await change()
                try await harness.waitUntilLastFrameMatchesGET(client, key: key, workspace: "board")
                #expect(client.frames.count > seen)
                seen = client.frames.count
            }
            let running = try await harness.createTask(key: key, workspace: "board", name: "runs", type: "gx.heavy")
            try await expectFrame {}
            let queued = try await harness.createTask(key: key, workspace: "board", name: "waits", type: "gx.heavy")
            try await expectFrame {}
            #expect(try WebSocketClient.tasks(in: client.frames.last ?? "").map(\.id) == [running.id, queued.id])
            try await expectFrame {
                let answer = try await harness.client.delete(
                    harness.target("/tasks/\(queued.id)", key: key, workspace: "board"))
                #expect(answer.status == 204)
            }
            try await expectFrame {
                let answer = try await harness.client.post(
                    harness.target("/tasks/flush", key: key, workspace: "board"), json: "")
                #expect(answer.status == 204)
            }
            #expect(client.frames.last == "[]")
            // Another workspace's changes are not this socket's business: every frame after them holds the marker
            // created here next (its create, and its start a millisecond later if the sidecar saw them apart); a frame
            // sent for the other workspace's create would still be the empty list.
            let before = client.frames.count
            _ = try await harness.createTask(key: key, workspace: "elsewhere", name: "x", type: "gx.heavy")
            let marker = try await harness.createTask(key: key, workspace: "board", name: "marker", type: "gx.heavy")
            try await harness.waitUntilLastFrameMatchesGET(client, key: key, workspace: "board")
            let after = Array(client.frames[before...])
            #expect(!after.isEmpty)
            for frame in after {
                #expect(try WebSocketClient.tasks(in: frame).map(\.id) == [marker.id], "\(after)")
            }
            await client.close()
        }
    }

    @Test func tasksStartAndCompleteOnTheStreamWithoutAnyRequest() async throws {
        // gx.micro lasts 250–750 ms at this scale; one slot, so the second task starts when the first completes.
        try await TaskdHarness.with(Self.options(slots: 1, timeScale: 0.1)) { harness in
            let key = try harness.issueKey()
            let client = try await harness.openWebSocket(key: key)
            try await client.waitForFrames("the empty list") { $0 == ["[]"] }
            let first = try await harness.createTask(key: key, name: "first", type: "gx.micro")
            let second = try await harness.createTask(key: key, name: "second", type: "gx.micro")
            // No request from here on: only time moves the tasks.
            let frames = try await client.waitForFrames("both tasks completed", timeout: .seconds(10)) { frames in
                guard let last = frames.last, let tasks = try? WebSocketClient.tasks(in: last) else { return false }
                return tasks.count == 2 && tasks.allSatisfy { $0.status == "completed" }
            }
            let order = ["queued", "running", "completed"]
            var history: [Int: [String]] = [:]
            for frame in frames {
                for task in try WebSocketClient.tasks(in: frame) where history[task.id]?.last != task.status {
                    history[task.id, default: []].append(task.status)
                }
            }
            for id in [first.id, second.id] {
                let statuses = history[id] ?? []
                // Never back in time, and each transition shows on its own.
                #expect(
                    statuses.map { order.firstIndex(of: $0) ?? -1 }
                        == statuses.map { order.firstIndex(of: $0) ?? -1 }.sorted())
                #expect(statuses.suffix(2) == ["running", "completed"], "task \(id): \(statuses)")
            }
            #expect(try WebSocketClient.tasks(in: frames.last ?? "") == (try await harness.listTasks(key: key)))
            await client.close()
        }
    }

    @Test func aHundredClientsOnOneWorkspaceAllEndOnGETsList() async throws {
        try await TaskdHarness.with(Self.options(slots: 2, timeScale: 0.1)) { harness in
            let key = try harness.issueKey()
            let clients = try await withThrowingTaskGroup(of: WebSocketClient.self) { group in
                for _ in 0..<100 { group.addTask { try await harness.openWebSocket(key: key, workspace: "crowd") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for client in clients { try await client.waitForFrames("the first frame") { !$0.isEmpty } }
            var created: [WireTask] = []
            for index in 0..<10 {
                created.append(
                    try await harness.createTask(
                        key: key, workspace: "crowd", name: "task \(index)", type: index < 2 ? "gx.tiny" : "gx.heavy"))
            }
            let deleted = try await harness.client.delete(
                harness.target("/tasks/\(created[9].id)", key: key, workspace: "crowd"))
            #expect(deleted.status == 204)
            // The two tiny tasks complete and two heavy ones start meanwhile: wait for a quiet list, then compare.
            try await harness.waitForStatus("completed", of: created[1].id, key: key, workspace: "crowd")
            try await harness.waitForStatus("running", of: created[3].id, key: key, workspace: "crowd")
            let expected = try await harness.listTasks(key: key, workspace: "crowd")
            for client in clients {
                try await client.waitForFrames("GET's list") { frames in
                    frames.last.flatMap { try? WebSocketClient.tasks(in: $0) } == expected
                }
            }
            for client in clients { await client.close() }
        }
    }

    @Test func aLogRotationWhileStreamingMissesNoChange() async throws {
        try await TaskdHarness.with(Self.options()) { harness in
            let key = try harness.issueKey()
            let client = try await harness.openWebSocket(key: key)
            try await client.waitForFrames("the empty list") { $0 == ["[]"] }
            for round in 0..<6 {
                _ = try await harness.createTask(key: key, name: "before \(round)", type: "gx.heavy")
                try harness.rotateChangeLog()
                if round.isMultiple(of: 2) { try harness.rotateChangeLog() }  // twice: the follower must re-read
                _ = try await harness.createTask(key: key, name: "after \(round)", type: "gx.heavy")
                let list = try await harness.waitUntilLastFrameMatchesGET(client, key: key)
                #expect(list.count == 2 * (round + 1))
            }
            await client.close()
        }
    }

    @Test func badKeysAndWorkspacesAreAnsweredWithoutAnUpgrade() async throws {
        try await TaskdHarness.with(Self.options()) { harness in
            let key = try harness.issueKey()
            for (target, status, code) in [
                (harness.target("/ws/tasks", key: nil), 401, "unauthorized"),
                (harness.target("/ws/tasks", key: ""), 401, "unauthorized"),
                (harness.target("/ws/tasks", key: "not-a-key"), 401, "unauthorized"),
                (harness.target("/ws/tasks", key: key, workspace: "bad workspace!"), 400, "invalid_request"),
                (harness.target("/ws/tasks", key: key, workspace: ""), 400, "invalid_request"),
                (
                    harness.target("/ws/tasks", key: key, workspace: String(repeating: "w", count: 65)), 400,
                    "invalid_request"
                ),
            ] {
                do {
                    let client = try await WebSocketClient.connect(port: harness.httpPort, target: target)
                    Issue.record("\(target) was upgraded")
                    await client.close()
                } catch let rejected as WebSocketClient.Rejected {
                    expectError(rejected.answer, status: status, code: code)
                }
            }
            // A plain GET, without the upgrade headers, is told to upgrade.
            expectError(
                try await harness.client.get(harness.target("/ws/tasks", key: key)), status: 426,
                code: "upgrade_required")
        }
    }

    @Test func theSidecarAnswersOtherPathsMethodsAndBrokenHandshakesWithJSONErrors() async throws {
        // nginx only forwards /ws/tasks; the sidecar still answers anything else with the API's errors.
        try await TaskdHarness.with(Self.options()) { harness in
            let key = try harness.issueKey()
            let cases: [(String, String, String)] = [
                ("GET /other HTTP/1.1\r\nHost: x\r\n\r\n", "404", "not_found"),
                (
                    "POST /ws/tasks?api_key=\(key) HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "405",
                    "method_not_allowed"
                ),
                (
                    "GET /ws/tasks?api_key=\(key) HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Version: 13\r\n\r\n", "426", "upgrade_required"
                ),
                // A method the parser knows but the path does not take, and methods that do not parse at all: each is
                // answered as what it is, never read as a GET.
                ("PROPFIND /ws/tasks?api_key=\(key) HTTP/1.1\r\nHost: x\r\n\r\n", "405", "method_not_allowed"),
                ("BREW /ws/tasks?api_key=\(key) HTTP/1.1\r\nHost: x\r\n\r\n", "400", "invalid_request"),
                ("G@T /ws/tasks?api_key=\(key) HTTP/1.1\r\nHost: x\r\n\r\n", "400", "invalid_request"),
            ]
            for (request, status, code) in cases {
                let answer = try await harness.exchangeWithSidecar(request)
                #expect(answer.hasPrefix("HTTP/1.1 \(status) "), "\(answer)")
                #expect(answer.contains(#"{"code":"\#(code)","#), "\(answer)")
                #expect(answer.lowercased().contains("content-type: application/json"), "\(answer)")
            }
        }
    }

    @Test func aTenantsConnectionsAreLimited() async throws {
        try await TaskdHarness.with(Self.options(environment: ["TASKD_MAX_WS_CONNECTIONS": "3"])) { harness in
            let key = try harness.issueKey()
            let other = try harness.issueKey(tenant: "other")
            var clients: [WebSocketClient] = []
            for _ in 0..<3 { clients.append(try await harness.openWebSocket(key: key)) }
            do {
                let extra = try await harness.openWebSocket(key: key)
                Issue.record("a fourth connection was upgraded")
                await extra.close()
            } catch let rejected as WebSocketClient.Rejected {
                expectError(rejected.answer, status: 429, code: "limit_exceeded")
            }
            // Another tenant has its own allowance, and a closed connection frees its place.
            let elsewhere = try await harness.openWebSocket(key: other)
            await clients[0].close()
            try await waitUntil("a freed place to be usable") {
                guard let client = try? await harness.openWebSocket(key: key) else { return false }
                clients.append(client)
                return true
            }
            for client in clients + [elsewhere] { await client.close() }
        }
    }

    @Test func aClientThatStopsReadingDoesNotGrowTheServersMemory() async throws {
        try await TaskdHarness.with(Self.options(slots: 1)) { harness in
            let key = try harness.issueKey()
            let stalled = try await harness.openWebSocket(key: key, answersPings: false)
            let reader = try await harness.openWebSocket(key: key)
            try await stalled.waitForFrames("the first frame") { !$0.isEmpty }
            try await stalled.stopReading()
            let before = try harness.webSocketResidentBytes()
            // Lists of up to 560 tasks with 256-byte names: about 50 MB of frames in all, far more than the socket
            // buffers between taskd-ws and the stalled client hold.
            let name = String(repeating: "n", count: 256)
            var streamed = 0
            for index in 0..<560 {
                _ = try await harness.createTask(key: key, name: name, type: "gx.heavy")
                streamed += (index + 1) * 330
            }
            let list = try await harness.waitUntilLastFrameMatchesGET(reader, key: key, timeout: .seconds(10))
            let growth = try harness.webSocketResidentBytes() - before
            #expect(streamed > 40_000_000)
            #expect(growth < 8 << 20, "taskd-ws grew by \(growth) bytes while \(streamed) bytes of lists streamed")
            // Once it reads again, the stalled client catches up with the newest list.
            try await stalled.channel.setOption(.autoRead, value: true).get()
            try await stalled.waitForFrames("the newest list", timeout: .seconds(10)) { frames in
                frames.last.flatMap { try? WebSocketClient.tasks(in: $0) } == list
            }
            #expect(stalled.frames.count < 560)
            await stalled.close()
            await reader.close()
        }
    }

    @Test func clientMessagesAreIgnoredAndOversizedOnesClose() async throws {
        try await TaskdHarness.with(Self.options()) { harness in
            let key = try harness.issueKey()
            let client = try await harness.openWebSocket(key: key)
            try await client.waitForFrames("the first frame") { !$0.isEmpty }
            try await client.send(text: "hello")
            _ = try await harness.createTask(key: key, name: "still streaming", type: "gx.heavy")
            try await harness.waitUntilLastFrameMatchesGET(client, key: key)
            #expect(!client.isClosed)
            try await client.send(text: String(repeating: "x", count: 64 * 1_024))
            try await client.waitForClose()
            #expect(client.closeCode == 1009)
        }
    }

    @Test func silentClientsArePingedAndClosed() async throws {
        try await TaskdHarness.with(Self.options(environment: ["TASKD_WS_PING_INTERVAL": "0.3"])) { harness in
            let key = try harness.issueKey()
            let silent = try await harness.openWebSocket(key: key, answersPings: false)
            let alive = try await harness.openWebSocket(key: key)
            try await silent.waitForClose(timeout: .seconds(5))
            #expect(silent.pingsReceived >= 1)
            // The answering client outlives several intervals.
            try await waitUntil("a few pings", timeout: .seconds(5)) { alive.pingsReceived >= 3 }
            #expect(!alive.isClosed)
            await alive.close()
        }
    }

    @Test func sigtermSendsGoingAwayAndExits() async throws {
        try await TaskdHarness.with(Self.options()) { harness in
            let key = try harness.issueKey()
            let client = try await harness.openWebSocket(key: key)
            try await client.waitForFrames("the first frame") { !$0.isEmpty }
            let sidecar = try #require(harness.webSocket)
            sidecar.send(SIGTERM)
            try await client.waitForClose()
            #expect(client.closeCode == 1001)
            #expect(await sidecar.waitForExit(timeout: .seconds(6)))
            #expect(sidecar.terminationStatus == 0)
        }
    }
}
