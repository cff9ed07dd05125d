import Foundation
import Logging
import NIOCore
import NIOPosix
import TaskStore

extension TaskdHarness {
    /// Opens `GET /ws/tasks` through nginx; throws `WebSocketClient.Rejected` when the server does not upgrade.
    func openWebSocket(
        key: String?, workspace: String? = nil, answersPings: Bool = true, extra: [(String, String)] = []
    ) async throws -> WebSocketClient {
        try await WebSocketClient.connect(
            port: httpPort, target: target("/ws/tasks", key: key, workspace: workspace, extra: extra),
            answersPings: answersPings)
    }

    /// Rotates the change log, as `taskctl log compact` does.
    func rotateChangeLog() throws {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let store = try WorkspaceStore(directory: stateDirectory.path, maxWorkspacesPerTenant: 1_000, logger: logger)
        try store.compactLog()
    }

    /// taskd-ws's resident memory, from /proc.
    func webSocketResidentBytes() throws -> Int {
        guard let pid = webSocket?.processID else { throw HarnessError("taskd-ws is not running") }
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            if let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") { return kilobytes * 1_024 }
        }
        throw HarnessError("no VmRSS in /proc/\(pid)/status")
    }

    /// Waits until the client's last frame equals what `GET /tasks` answers now (and returns that list).
    @discardableResult
    func waitUntilLastFrameMatchesGET(
        _ client: WebSocketClient, key: String, workspace: String? = nil, timeout: Duration = .seconds(5)
    ) async throws -> [WireTask] {
        var list: [WireTask] = []
        try await waitUntil("the last frame to equal GET /tasks", timeout: timeout, interval: .milliseconds(5)) {
            list = try await self.listTasks(key: key, workspace: workspace)
            guard let last = client.frames.last else { return false }
            return try WebSocketClient.tasks(in: last) == list
        }
        return list
    }
}

extension WebSocketClient {
    /// A frame decoded as the tests read tasks.
    static func tasks(in frame: String) throws -> [WireTask] {
        guard let array = try JSONSerialization.jsonObject(with: Data(frame.utf8)) as? [Any] else {
            throw HarnessError("A frame is not a JSON array: \(frame)")
        }
        return try array.map(WireTask.init(json:))
    }
}

extension WebSocketClient.Rejected {
    var answer: HTTPAnswer {
        HTTPAnswer(status: status, headers: headers.map { (name: $0.0, value: $0.1) }, body: Array(body.utf8))
    }
}

extension TaskdHarness {
    /// Sends `request` straight to taskd-ws's unix socket (bypassing nginx) and returns everything it answers
    /// until it closes the connection (at most `timeout`).
    func exchangeWithSidecar(_ request: String, timeout: Duration = .seconds(5)) async throws -> String {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let collected = eventLoop.makePromise(of: String.self)
        let channel = try await ClientBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawCollector(promise: collected))
                }
            }
            .connect(unixDomainSocketPath: webSocketSocket.path).get()
        let deadline = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            collected.fail(HarnessError("taskd-ws did not close the connection within \(timeout)"))
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        try await channel.writeAndFlush(channel.allocator.buffer(string: request)).get()
        return try await collected.futureResult.get()
    }
}

/// Collects every byte until the peer closes.
private final class RawCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let promise: EventLoopPromise<String>
    private var received = ByteBuffer()

    init(promise: EventLoopPromise<String>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received.writeBuffer(&buffer)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(String(buffer: received))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
