import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Hostile WebSocket clients through nginx, all at once, while other tenants watch their workspaces: taskd-ws stays
/// within a fixed memory budget, every other tenant's stream still gets each change within 50 ms, and every hostile
/// connection ends the way docs/websocket.md says.
///
/// Each kind of hostile client stands at a loopback address of its own (127.0.0.2 and up), so that nginx's
/// per-address limit on open streams (`limit_conn`, set to `perAddress` here) applies to it; the other tenants come
/// from 127.0.0.1, on an event loop of their own, so that what the hostile clients cost the test process does not
/// delay the frames it times.
@Suite(.timeLimit(.minutes(2)))
struct WebSocketHostileClientTests {
    /// Short, so that silent connections are dropped within seconds (the default is 30 s).
    static let pingInterval: Duration = .seconds(4)
    /// nginx's limit on open streams per client address in this test.
    static let perAddress = 100
    /// The most taskd-ws may grow while the hostile clients act (issue 18).
    static let memoryBudget = 64 << 20
    /// The contract: a change reaches every stream of its workspace within 50 ms.
    static let deliveryBound: Duration = .milliseconds(50)
    /// taskd-ws's handshake deadline and nginx's `client_header_timeout`, both 10 s, with room for a loaded machine.
    static let handshakeBound: Duration = .seconds(13)

    /// Set when the hostile clients are done: the other tenants' changes and the memory sampling stop.
    final class Flag: Sendable {
        private let state = Atomic(false)
        func set() { state.store(true, ordering: .releasing) }
        var isSet: Bool { state.load(ordering: .acquiring) }
    }

    @Test func hostileClientsNeitherGrowTheSidecarNorDelayOtherTenantsAndAreClosedAsDocumented() async throws {
        var options = WebSocketTests.options(environment: [
            "TASKD_WS_PING_INTERVAL": "\(Self.pingInterval.components.seconds)",
            // One hostile tenant holds the thousand half-open connections and every other hostile one.
            "TASKD_MAX_WS_CONNECTIONS": "5000",
        ])
        options.webSocketConnectionsPerAddress = Self.perAddress
        try await TaskdHarness.with(options) { harness in
            let hostileKey = try harness.issueKey(tenant: "hostile")
            let honestGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            do {
                try await Self.run(harness, hostileKey: hostileKey, honestGroup: honestGroup)
                try await honestGroup.shutdownGracefully()
            } catch {
                try? await honestGroup.shutdownGracefully()
                throw error
            }
        }
    }

    /// A handshake that carries a body (nginx passes up to 1 MiB of one on): taskd-ws reads at most 64 KiB of it and
    /// answers 413 as JSON, without an upgrade.
    @Test func aHandshakeWithALargeBodyIsAnswered413() async throws {
        try await TaskdHarness.with(WebSocketTests.options()) { harness in
            let key = try harness.issueKey()
            let client = try await RawSocketClient.connect(port: harness.httpPort)
            var request = RawSocketClient.handshake(target: harness.target("/ws/tasks", key: key))
            request.removeLast(2)
            request += Array("Content-Length: 200000\r\n\r\n".utf8) + [UInt8](repeating: 0x78, count: 200_000)
            try await client.sendAll(request)
            let response = try await client.readResponse(timeout: .seconds(5))
            #expect(response.status == 413, "\(response)")
            #expect(response.text.contains(#""code":"payload_too_large""#), "\(response)")
        }
    }

    private static func run(
        _ harness: TaskdHarness, hostileKey: String, honestGroup: MultiThreadedEventLoopGroup
    ) async throws {
        let honestKeys = try (1...3).map { try harness.issueKey(tenant: "honest-\($0)") }
        var honest: [WebSocketClient] = []
        for key in honestKeys {
            let client = try await WebSocketClient.connect(
                port: harness.httpPort, target: harness.target("/ws/tasks", key: key, workspace: "board"),
                group: honestGroup)
            try await client.waitForFrames("the first frame") { !$0.isEmpty }
            honest.append(client)
        }
        let restClient = HTTPClient(port: harness.httpPort, group: honestGroup)
        let descriptorsBefore = try harness.webSocketOpenDescriptors()
        let memoryBefore = try harness.webSocketResidentBytes()
        let done = Flag()

        async let changes = Self.changeHonestWorkspaces(
            harness, keys: honestKeys, client: restClient, until: done)
        async let peakMemory = Self.sampleMemory(of: harness, until: done)
        // Each hostile client reports its own failure, so that one going wrong still lets the others and the
        // measurements below say what they saw.
        let hostile: [(String, @Sendable () async throws -> Void)] = [
            ("1,000 half-open connections", { try await Self.halfOpenConnections(harness, key: hostileKey) }),
            (
                "streams beyond the address limit",
                { try await Self.streamsBeyondTheAddressLimit(harness, key: hostileKey) }
            ),
            ("a ping flood that never reads", { try await Self.pingFloodThatNeverReads(harness, key: hostileKey) }),
            (
                "a subscriber that never reads on a busy workspace",
                { try await Self.subscriberThatNeverReadsOnABusyWorkspace(harness, key: hostileKey) }
            ),
            ("a huge frame", { try await Self.hugeFrame(harness, key: hostileKey) }),
            ("an endless fragmented message", { try await Self.endlessFragmentedMessage(harness, key: hostileKey) }),
            ("a slow handshake through nginx", { try await Self.slowHandshakeThroughNginx(harness, key: hostileKey) }),
            (
                "a slow handshake straight to taskd-ws",
                { try await Self.slowHandshakeStraightToTheSidecar(harness, key: hostileKey) }
            ),
        ]
        await withTaskGroup(of: Void.self) { group in
            for (name, client) in hostile {
                group.addTask {
                    do {
                        try await client()
                    } catch {
                        Issue.record("\(name): \(error)")
                    }
                }
            }
        }
        done.set()
        let (samples, peak) = try await (changes, peakMemory)

        // Memory: the most taskd-ws held at any moment, against what it held before.
        let growth = peak - memoryBefore
        #expect(
            growth <= Self.memoryBudget,
            "taskd-ws grew by \(growth >> 20) MiB (\(memoryBefore >> 20) → \(peak >> 20) MiB) under hostile clients")

        // Every other tenant's stream got every change, each within 50 ms of its create's answer.
        var latencies: [Duration] = []
        for sample in samples {
            let stream = honest[sample.tenant].timedFrames
            guard
                let delivered = stream.first(where: { entry in
                    (try? WebSocketClient.tasks(in: entry.frame))?.contains { $0.id == sample.id } ?? false
                })
            else {
                Issue.record("honest-\(sample.tenant + 1)'s stream never got task \(sample.id)")
                continue
            }
            latencies.append(max(.zero, sample.answeredAt.duration(to: delivered.arrival)))
        }
        let late = latencies.filter { $0 > Self.deliveryBound }
        #expect(samples.count >= 30, "only \(samples.count) changes were made during the hostile phase")
        #expect(
            late.isEmpty,
            "\(late.count) of \(latencies.count) changes reached their stream later than 50 ms: \(late.sorted().suffix(5))"
        )
        for (index, client) in honest.enumerated() {
            #expect(!client.isClosed, "honest-\(index + 1)'s stream was closed")
            try await harness.waitUntilLastFrameMatchesGET(client, key: honestKeys[index], workspace: "board")
        }

        // taskd-ws closed every hostile connection: it holds no more descriptors than before they came.
        try await waitUntil("taskd-ws to hold no hostile connection") {
            try harness.webSocketOpenDescriptors() <= descriptorsBefore
        }
        for client in honest { await client.close() }
    }

    // MARK: The other tenants

    struct Change: Sendable {
        let tenant: Int
        let id: Int
        /// When the create's answer was read.
        let answeredAt: ContinuousClock.Instant
    }

    /// Creates a task in one honest tenant's workspace after another, every 100 ms, until `done`.
    private static func changeHonestWorkspaces(
        _ harness: TaskdHarness, keys: [String], client: HTTPClient, until done: Flag
    ) async throws -> [Change] {
        var changes: [Change] = []
        var round = 0
        while !done.isSet {
            let tenant = round % keys.count
            let answer = try await client.post(
                harness.target("/tasks", key: keys[tenant], workspace: "board"),
                json: TaskdHarness.taskBody(name: "change \(round)", type: "gx.heavy"))
            guard answer.status == 201, let task = try answer.jsonObject()["task"], let answeredAt = answer.receivedAt
            else { throw HarnessError("an honest create failed: \(answer)") }
            changes.append(Change(tenant: tenant, id: try WireTask(json: task).id, answeredAt: answeredAt))
            round += 1
            try await Task.sleep(for: .milliseconds(100))
        }
        return changes
    }

    /// The largest resident size of taskd-ws seen every 20 ms until `done`.
    private static func sampleMemory(of harness: TaskdHarness, until done: Flag) async throws -> Int {
        var peak = try harness.webSocketResidentBytes()
        while !done.isSet {
            peak = max(peak, try harness.webSocketResidentBytes())
            try await Task.sleep(for: .milliseconds(20))
        }
        return max(peak, try harness.webSocketResidentBytes())
    }

    // MARK: Hostile clients

    /// 1,000 connections (100 from each of ten addresses, nginx's limit) that upgrade, then neither read nor write
    /// again, like clients that vanished without a FIN: taskd-ws drops each two ping intervals later, without a close
    /// frame. Four addresses connect at a time, so that all thousand are open together for a while (the first are
    /// dropped after two ping intervals) without a burst only a test could produce on two cores.
    private static func halfOpenConnections(_ harness: TaskdHarness, key: String) async throws {
        let target = harness.target("/ws/tasks", key: key, workspace: "idle")
        let started = ContinuousClock.now
        let connections = try await withThrowingTaskGroup(of: [RawSocketClient].self) { group in
            var all: [RawSocketClient] = []
            for address in 10..<20 {
                // Four at a time: the next address starts when one has all its connections open.
                if address >= 14, let opened = try await group.next() { all += opened }
                group.addTask {
                    var opened: [RawSocketClient] = []
                    for _ in 0..<Self.perAddress {
                        let client = try await RawSocketClient.connect(
                            port: harness.httpPort, from: "127.0.0.\(address)")
                        let response = try await client.upgrade(target: target)
                        guard response.status == 101 else { throw HarnessError("half-open not upgraded: \(response)") }
                        opened.append(client)
                    }
                    return opened
                }
            }
            for try await opened in group { all += opened }
            return all
        }
        #expect(connections.count == 1_000)

        try await RawSocketClient.readUntilAllEnd(connections, timeout: .seconds(20))
        let lifetime = started.duration(to: .now)
        #expect(lifetime >= Self.pingInterval * 2, "dropped after \(lifetime), before two ping intervals")
        for client in connections {
            let frames = client.serverFrames
            #expect(frames.first?.opcode == RawSocketClient.ServerFrame.text, "the first list")
            #expect(
                !frames.contains { $0.opcode == RawSocketClient.ServerFrame.close }, "no close frame for a silent peer")
        }
    }

    /// 100 streams from one address, nginx's limit, that stay open (they answer pings): the 101st is refused with
    /// 429 `limit_exceeded` before any upgrade, and it is served once one of the hundred has closed.
    private static func streamsBeyondTheAddressLimit(_ harness: TaskdHarness, key: String) async throws {
        let target = harness.target("/ws/tasks", key: key, workspace: "limit")
        var clients: [WebSocketClient] = []
        for _ in 0..<Self.perAddress {
            clients.append(
                try await WebSocketClient.connect(port: harness.httpPort, target: target, from: "127.0.0.20"))
        }
        do {
            let extra = try await WebSocketClient.connect(port: harness.httpPort, target: target, from: "127.0.0.20")
            Issue.record("the 101st stream from one address was upgraded")
            await extra.close()
        } catch let refused as WebSocketClient.Rejected {
            expectError(refused.answer, status: 429, code: "limit_exceeded")
        }
        await clients.removeLast().close()
        try await waitUntil("a place freed at the address limit to be served") {
            guard
                let client = try? await WebSocketClient.connect(
                    port: harness.httpPort, target: target, from: "127.0.0.20")
            else { return false }
            clients.append(client)
            return true
        }
        for client in clients { await client.close() }
    }

    /// Empty masked pings (6 bytes each) as fast as the socket takes them, never reading: taskd-ws answers at most a
    /// burst of them, stops reading, and closes with 1008.
    private static func pingFloodThatNeverReads(_ harness: TaskdHarness, key: String) async throws {
        let client = try await RawSocketClient.connect(port: harness.httpPort, from: "127.0.0.2", receiveBuffer: 4_096)
        let response = try await client.upgrade(target: harness.target("/ws/tasks", key: key, workspace: "flood"))
        #expect(response.status == 101, "\(response)")
        let ping = RawSocketClient.clientFrame(opcode: 0x9)
        let chunk = Array((0..<10_000).map { _ in ping }.joined())
        var sent = 0
        var offset = 0
        var stalledSince: ContinuousClock.Instant?
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        flood: while sent < 64 << 20, ContinuousClock.now < deadline {
            let taken: Int
            do {
                taken = try client.sendSome(chunk[offset...])
            } catch is RawSocketClient.Ended {
                break flood
            }
            sent += taken
            offset = (offset + taken) % chunk.count
            if taken > 0 {
                stalledSince = nil
                continue
            }
            // The server stopped reading: everything between it and this client is full.
            let since = stalledSince ?? .now
            stalledSince = since
            if since.duration(to: .now) > .seconds(2) { break flood }
            try await Task.sleep(for: .milliseconds(1))
        }
        try await client.readUntilEnd(timeout: .seconds(10))
        let frames = client.serverFrames
        let pongs = frames.filter { $0.opcode == RawSocketClient.ServerFrame.pong }.count
        // The burst of 100, and the 20 a second that accrue while taskd-ws reads them (well under a second).
        #expect(pongs <= 120, "\(pongs) pongs for a flood of \(sent / 6) pings")
        #expect(frames.last?.closeCode == 1008, "ping flood: \(frames.suffix(2).map(\.opcode)), \(sent) bytes sent")
        #expect(frames.last?.closeReason.contains("Too many frames") == true)
    }

    /// A subscriber of a workspace that changes all the time, with a small receive buffer, that never reads and never
    /// answers: taskd-ws keeps at most one pending list for it, and drops it two ping intervals after it upgraded,
    /// without a close frame (it could not have read one).
    private static func subscriberThatNeverReadsOnABusyWorkspace(_ harness: TaskdHarness, key: String) async throws {
        let client = try await RawSocketClient.connect(port: harness.httpPort, from: "127.0.0.3", receiveBuffer: 4_096)
        let upgradedAt = ContinuousClock.now
        let response = try await client.upgrade(target: harness.target("/ws/tasks", key: key, workspace: "busy"))
        #expect(response.status == 101, "\(response)")
        // Lists of up to 200 tasks with 256-character names: about 6 MB of frames, far more than nginx and the
        // kernel buffer between taskd-ws and this client.
        let name = String(repeating: "b", count: 256)
        var created = 0
        while created < 200, upgradedAt.duration(to: .now) < Self.pingInterval * 2 {
            _ = try await harness.createTask(key: key, workspace: "busy", name: name, type: "gx.heavy")
            created += 1
        }
        // The client's behaviour under test: it reads nothing until well after two ping intervals.
        try await Task.sleep(until: upgradedAt.advanced(by: Self.pingInterval * 2 + .seconds(2)), clock: .continuous)
        try await client.readUntilEnd(timeout: .seconds(10))
        let frames = client.serverFrames
        #expect(created >= 20, "only \(created) changes while the subscriber was connected")
        #expect(frames.first?.opcode == RawSocketClient.ServerFrame.text)
        #expect(!frames.contains { $0.opcode == RawSocketClient.ServerFrame.close }, "no close frame for a non-reader")
        let lists = frames.filter { $0.opcode == RawSocketClient.ServerFrame.text }
        #expect(lists.count <= created + 1, "\(lists.count) lists for \(created) changes")
    }

    /// A frame that claims 1 GiB, its payload streamed after it: refused with 1009 as soon as its header is read.
    private static func hugeFrame(_ harness: TaskdHarness, key: String) async throws {
        let client = try await RawSocketClient.connect(port: harness.httpPort, from: "127.0.0.4")
        let response = try await client.upgrade(target: harness.target("/ws/tasks", key: key, workspace: "huge"))
        #expect(response.status == 101, "\(response)")
        try await client.sendAll(RawSocketClient.clientFrame(opcode: 0x2, claimedLength: 1 << 30))
        try await Self.stream(
            [UInt8](repeating: 0x5A, count: 65_536), to: client, upTo: 16 << 20, for: .seconds(5))
        try await client.readUntilEnd(timeout: .seconds(10))
        let close = client.serverFrames.last
        #expect(close?.closeCode == 1009, "huge frame: \(client.serverFrames.map(\.opcode))")
    }

    /// A text message that never ends: fragments of 4 KiB, one after another. Refused with 1009 once the message is
    /// over 4 KiB.
    private static func endlessFragmentedMessage(_ harness: TaskdHarness, key: String) async throws {
        let client = try await RawSocketClient.connect(port: harness.httpPort, from: "127.0.0.4")
        let response = try await client.upgrade(target: harness.target("/ws/tasks", key: key, workspace: "huge"))
        #expect(response.status == 101, "\(response)")
        let fragment = [UInt8](repeating: 0x61, count: 4_096)
        try await client.sendAll(RawSocketClient.clientFrame(opcode: 0x1, fin: false, payload: fragment))
        let continuation = RawSocketClient.clientFrame(opcode: 0x0, fin: false, payload: fragment)
        try await Self.stream(
            Array((0..<16).map { _ in continuation }.joined()), to: client, upTo: 16 << 20, for: .seconds(5))
        try await client.readUntilEnd(timeout: .seconds(10))
        let close = client.serverFrames.last
        #expect(close?.closeCode == 1009, "fragmented message: \(client.serverFrames.map(\.opcode))")
        #expect(close?.closeReason.contains("4 KiB") == true)
    }

    /// Sends `chunk` over and over (reading whatever comes back) until the connection ends, `limit` bytes are sent or
    /// `duration` has passed.
    private static func stream(_ chunk: [UInt8], to client: RawSocketClient, upTo limit: Int, for duration: Duration)
        async throws
    {
        var sent = 0
        var offset = 0
        let deadline = ContinuousClock.now.advanced(by: duration)
        while sent < limit, ContinuousClock.now < deadline, !client.hasEnded {
            client.readAvailable()
            let taken: Int
            do {
                taken = try client.sendSome(chunk[offset...])
            } catch is RawSocketClient.Ended {
                return
            }
            sent += taken
            offset = (offset + taken) % chunk.count
            if taken == 0 { try await Task.sleep(for: .milliseconds(1)) }
        }
    }

    /// The handshake, one byte every 250 ms: nginx never passes it on, and closes the connection without an answer
    /// after its `client_header_timeout` (10 s).
    private static func slowHandshakeThroughNginx(_ harness: TaskdHarness, key: String) async throws {
        let client = try await RawSocketClient.connect(port: harness.httpPort, from: "127.0.0.5")
        try await Self.dribble(
            RawSocketClient.handshake(target: harness.target("/ws/tasks", key: key, workspace: "slow")), to: client)
    }

    /// The same straight to taskd-ws's socket, as if nginx were that slow: taskd-ws closes it after its handshake
    /// deadline (10 s), without an answer.
    private static func slowHandshakeStraightToTheSidecar(_ harness: TaskdHarness, key: String) async throws {
        let client = try await RawSocketClient.connect(unixPath: harness.webSocketSocket.path)
        try await Self.dribble(
            RawSocketClient.handshake(target: harness.target("/ws/tasks", key: key, workspace: "slow")), to: client)
    }

    private static func dribble(_ request: [UInt8], to client: RawSocketClient) async throws {
        let started = ContinuousClock.now
        var index = 0
        while !client.hasEnded, started.duration(to: .now) < Self.handshakeBound {
            if index < request.count - 1, (try? client.sendSome(request[index...index])) == 1 { index += 1 }
            client.readAvailable()
            try await Task.sleep(for: .milliseconds(250))
        }
        let elapsed = started.duration(to: .now)
        #expect(client.hasEnded, "a slow handshake was still open after \(elapsed)")
        #expect(elapsed >= .seconds(9), "a slow handshake was closed after only \(elapsed)")
        #expect(client.received.isEmpty, "a slow handshake was answered: \(client.received.prefix(200))")
    }
}

extension TaskdHarness {
    /// How many descriptors taskd-ws holds open, from /proc.
    func webSocketOpenDescriptors() throws -> Int {
        guard let pid = webSocket?.processID else { throw HarnessError("taskd-ws is not running") }
        return try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }
}
