import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// A WebSocket client for the integration tests, built on NIO's client upgrader.
///
/// `connect` either upgrades (and the client collects every text frame the server sends) or throws
/// `WebSocketClient.Rejected` with the HTTP answer the server gave instead. Pings are answered unless
/// `answersPings` is false; `stopReading()` stops reading from the socket, like a client that hangs.
final class WebSocketClient: Sendable {
    /// The server did not upgrade; this is what it answered.
    struct Rejected: Error, CustomStringConvertible {
        let status: Int
        let headers: [(String, String)]
        let body: String
        var description: String { "not upgraded: \(status) \(body)" }
    }

    struct Timeout: Error, CustomStringConvertible {
        let what: String
        var description: String { "timed out waiting for \(what)" }
    }

    private struct State {
        var frames: [String] = []
        /// When each text frame was read, on the client's event loop.
        var frameArrivals: [ContinuousClock.Instant] = []
        var closeCode: UInt16?
        var closeReason: String?
        /// When the server's close frame arrived.
        var closeReceivedAt: ContinuousClock.Instant?
        /// Text frames that arrived after the server's close frame (a server must send none).
        var framesAfterClose = 0
        var isClosed = false
        var pingsReceived = 0
    }

    private let state: Mutex<State>
    private let channelBox: Mutex<(any Channel)?>
    let answersPings: Bool

    private init(answersPings: Bool) {
        self.state = Mutex(State())
        self.channelBox = Mutex(nil)
        self.answersPings = answersPings
    }

    /// Connects to `host:port` and asks to upgrade `target` (path and query); from the local address `source` when
    /// given (any address of 127.0.0.0/8 on Linux).
    static func connect(
        host: String = "127.0.0.1", port: Int, target: String, answersPings: Bool = true,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, timeout: Duration = .seconds(10),
        from source: String? = nil
    ) async throws -> WebSocketClient {
        let client = WebSocketClient(answersPings: answersPings)
        let outcome = group.any().makePromise(of: Void.self)
        var bootstrap = ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                let upgrader = NIOWebSocketClientUpgrader(
                    maxFrameSize: 1 << 26,
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            // The requester sits where the upgrade handler replays the bytes that followed the 101:
                            // it must leave before they reach it, so that they go to the frame decoder.
                            let requester = try channel.pipeline.syncOperations.context(name: "requester")
                            channel.pipeline.syncOperations.removeHandler(context: requester, promise: nil)
                            try channel.pipeline.syncOperations.addHandler(FrameCollector(client: client))
                            outcome.succeed()
                        }
                    })
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        leftOverBytesStrategy: .forwardBytes,
                        withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                    try channel.pipeline.syncOperations.addHandler(
                        UpgradeRequester(host: host, target: target, outcome: outcome), name: "requester")
                }
            }
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        let channel = try await bootstrap.connect(host: host, port: port).get()
        client.channelBox.withLock { $0 = channel }
        channel.closeFuture.whenComplete { _ in
            client.state.withLock { $0.isClosed = true }
            outcome.fail(ChannelError.ioOnClosedChannel)
        }
        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            outcome.fail(Timeout(what: "the upgrade"))
        }
        defer { deadline.cancel() }
        do {
            try await outcome.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        return client
    }

    var channel: any Channel {
        get throws {
            guard let channel = channelBox.withLock({ $0 }) else { throw ChannelError.ioOnClosedChannel }
            return channel
        }
    }

    /// Every text frame received so far, in order.
    var frames: [String] { state.withLock { $0.frames } }
    /// Every text frame received so far with the moment it was read.
    var timedFrames: [(frame: String, arrival: ContinuousClock.Instant)] {
        state.withLock { state in zip(state.frames, state.frameArrivals).map { ($0, $1) } }
    }
    var closeCode: UInt16? { state.withLock { $0.closeCode } }
    var closeReason: String? { state.withLock { $0.closeReason } }
    var closeReceivedAt: ContinuousClock.Instant? { state.withLock { $0.closeReceivedAt } }
    var framesAfterClose: Int { state.withLock { $0.framesAfterClose } }
    var isClosed: Bool { state.withLock { $0.isClosed } }
    var pingsReceived: Int { state.withLock { $0.pingsReceived } }

    /// Waits until `condition` holds for the frames received so far, polling with a deadline.
    @discardableResult
    func waitForFrames(
        _ what: String, timeout: Duration = .seconds(5), until condition: ([String]) -> Bool
    ) async throws -> [String] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let frames = self.frames
            if condition(frames) { return frames }
            guard clock.now < deadline else { throw Timeout(what: "\(what); frames so far: \(frames.suffix(3))") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Waits until the connection has ended.
    func waitForClose(timeout: Duration = .seconds(5)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while !isClosed {
            guard clock.now < deadline else { throw Timeout(what: "the connection to close") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Stops reading from the socket: the server's frames pile up in the kernel buffers, then in the server.
    func stopReading() async throws {
        try await channel.setOption(.autoRead, value: false).get()
    }

    /// Sends a text frame (the server ignores it).
    func send(text: String) async throws {
        let channel = try self.channel
        let frame = WebSocketFrame(
            fin: true, opcode: .text, maskKey: .random(), data: channel.allocator.buffer(string: text))
        try await channel.writeAndFlush(frame).get()
    }

    /// Sends a close frame and waits (at most 2 s) for the server to end the connection.
    func close() async {
        guard let channel = channelBox.withLock({ $0 }) else { return }
        var data = channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: .normalClosure)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: data)
        try? await channel.writeAndFlush(frame).get()
        try? await waitForClose(timeout: .seconds(2))
        try? await channel.close().get()
    }

    fileprivate func record(frame: String) {
        let arrival = ContinuousClock.now
        state.withLock { state in
            state.frames.append(frame)
            state.frameArrivals.append(arrival)
            if state.closeReceivedAt != nil { state.framesAfterClose += 1 }
        }
    }

    fileprivate func record(closeCode: UInt16?, reason: String?) {
        state.withLock { state in
            state.closeCode = closeCode
            state.closeReason = reason
            state.closeReceivedAt = ContinuousClock.now
        }
    }
    fileprivate func recordPing() { state.withLock { $0.pingsReceived += 1 } }
}

/// Sends the upgrade request once the channel is active, and turns a non-101 answer into `Rejected`.
private final class UpgradeRequester: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let host: String
    private let target: String
    private let outcome: EventLoopPromise<Void>
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?

    init(host: String, target: String, outcome: EventLoopPromise<Void>) {
        self.host = host
        self.target = target
        self.outcome = outcome
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body(var part):
            if body == nil { body = part } else { body?.writeBuffer(&part) }
        case .end:
            let status = Int(head?.status.code ?? 0)
            let headers = head?.headers.map { ($0.name, $0.value) } ?? []
            let text = body.map { String(buffer: $0) } ?? ""
            outcome.fail(WebSocketClient.Rejected(status: status, headers: headers, body: text))
            context.close(promise: nil)
        }
    }
}

/// Collects text frames; answers pings (unless told not to) and close frames.
private final class FrameCollector: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let client: WebSocketClient
    private var fragments: ByteBuffer?

    init(client: WebSocketClient) {
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .continuation:
            var data = frame.unmaskedData
            if fragments == nil { fragments = data } else { fragments?.writeBuffer(&data) }
            if frame.fin, let whole = fragments {
                fragments = nil
                client.record(frame: String(buffer: whole))
            }
        case .ping:
            client.recordPing()
            if client.answersPings {
                let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
                context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
            }
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readInteger(as: UInt16.self)
            client.record(closeCode: code, reason: data.readString(length: data.readableBytes))
            let reply = WebSocketFrame(
                fin: true, opcode: .connectionClose, maskKey: .random(), data: frame.unmaskedData)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in channel.close(promise: nil) }
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
