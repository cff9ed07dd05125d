import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// Many WebSocket subscribers of one workspace, each noting when a frame holding the awaited marker first arrives.
final class BenchSubscribers: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private struct State {
        var marker: [UInt8]?
        var isAwaitingAbsence = false
        var arrivals: [UInt64?] = []
        var arrived = 0
        var firstFrames = 0
        var channels: [any Channel] = []
    }

    private let state = Mutex(State())
    let group: MultiThreadedEventLoopGroup

    init(threads: Int) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    enum Endpoint {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    /// Opens `count` connections, `batch` at a time, and waits until each has its first frame.
    func open(count: Int, endpoint: Endpoint, target: String, batch: Int = 256) async throws {
        var opened = 0
        while opened < count {
            let size = min(batch, count - opened)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for index in opened..<(opened + size) {
                    tasks.addTask { try await self.connect(index: index, endpoint: endpoint, target: target) }
                }
                try await tasks.waitForAll()
            }
            opened += size
        }
        try await waitUntil("first frames", timeout: .seconds(60)) { $0.firstFrames >= count }
    }

    private func connect(index: Int, endpoint: Endpoint, target: String) async throws {
        state.withLock { state in
            if state.arrivals.count <= index {
                state.arrivals.append(contentsOf: repeatElement(nil, count: index + 1 - state.arrivals.count))
            }
        }
        // The channel and the promise on one loop: failing it when the channel closes never hops to another loop,
        // which may be shutting down by then.
        let loop = group.next()
        let upgraded = loop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: loop)
            .channelInitializer { channel in
                let upgrader = NIOWebSocketClientUpgrader(
                    maxFrameSize: 1 << 24,
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            // The requester sits where the upgrade handler replays the bytes that followed the 101:
                            // it must leave before they reach it, so that they go to the frame decoder.
                            let requester = try channel.pipeline.syncOperations.context(name: "requester")
                            channel.pipeline.syncOperations.removeHandler(context: requester, promise: nil)
                            try channel.pipeline.syncOperations.addHandler(Subscriber(index: index, owner: self))
                            upgraded.succeed()
                        }
                    })
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        leftOverBytesStrategy: .forwardBytes,
                        withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                    try channel.pipeline.syncOperations.addHandler(
                        Requester(target: target, upgraded: upgraded), name: "requester")
                }
            }
        let channel: any Channel
        switch endpoint {
        case .tcp(let host, let port): channel = try await bootstrap.connect(host: host, port: port).get()
        case .unix(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
        }
        channel.closeFuture.whenComplete { _ in upgraded.fail(Failure(description: "closed before the upgrade")) }
        try await upgraded.futureResult.get()
        state.withLock { $0.channels.append(channel) }
    }

    /// Starts a round: the next frame holding `marker` (or, with `absent`, the next one without it) counts as that
    /// subscriber's arrival.
    func expect(_ marker: String, absent: Bool = false) {
        state.withLock { state in
            state.marker = Array(marker.utf8)
            state.isAwaitingAbsence = absent
            state.arrived = 0
            for index in state.arrivals.indices { state.arrivals[index] = nil }
        }
    }

    /// Waits until every subscriber saw the marker; returns the arrival times (monotonic nanoseconds).
    func arrivals(timeout: Duration) async throws -> [UInt64] {
        try await waitUntil("every arrival", timeout: timeout) { $0.arrived >= $0.channels.count }
        return state.withLock { $0.arrivals.compactMap { $0 } }
    }

    func closeAll() async {
        let channels = state.withLock { state in
            defer { state.channels = [] }
            return state.channels
        }
        for channel in channels { try? await channel.close() }
        state.withLock { state in
            state.arrivals = []
            state.firstFrames = 0
        }
    }

    private func waitUntil(_ what: String, timeout: Duration, _ condition: (State) -> Bool) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while !state.withLock({ condition($0) }) {
            guard clock.now < deadline else { throw Failure(description: "timed out waiting for \(what)") }
            try await Task.sleep(for: .microseconds(200))
        }
    }

    fileprivate func received(_ frame: ByteBuffer, index: Int, at time: UInt64) {
        guard
            let (marker, isAwaitingAbsence) = state.withLock({ state in
                state.marker.map { ($0, state.isAwaitingAbsence) }
            })
        else { return }
        let contains = frame.withUnsafeReadableBytes { Self.find(marker, in: $0) }
        guard contains != isAwaitingAbsence else { return }
        state.withLock { state in
            guard index < state.arrivals.count, state.arrivals[index] == nil, state.marker == marker else { return }
            state.arrivals[index] = time
            state.arrived += 1
        }
    }

    /// A plain byte search: markers are a dozen bytes and frames short, and the generic `firstRange(of:)` was the
    /// client's hot spot.
    private static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Bool {
        guard let first = needle.first, needle.count <= haystack.count else { return needle.isEmpty }
        var start = 0
        while start <= haystack.count - needle.count {
            if haystack[start] == first {
                var matched = 1
                while matched < needle.count, haystack[start + matched] == needle[matched] { matched += 1 }
                if matched == needle.count { return true }
            }
            start += 1
        }
        return false
    }

    fileprivate func receivedFirstFrame() {
        state.withLock { $0.firstFrames += 1 }
    }
}

private final class Requester: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let target: String
    private let upgraded: EventLoopPromise<Void>

    init(target: String, upgraded: EventLoopPromise<Void>) {
        self.target = target
        self.upgraded = upgraded
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "127.0.0.1")
        headers.add(name: "Content-Length", value: "0")
        context.write(
            wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers))),
            promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            upgraded.fail(BenchSubscribers.Failure(description: "not upgraded: \(head.status)"))
            context.close(promise: nil)
        }
    }
}

private final class Subscriber: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let index: Int
    private let owner: BenchSubscribers
    private var isFirst = true

    init(index: Int, owner: BenchSubscribers) {
        self.index = index
        self.owner = owner
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let time = NIODeadline.now().uptimeNanoseconds
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            if isFirst {
                isFirst = false
                owner.receivedFirstFrame()
            } else {
                owner.received(frame.data, index: index, at: time)
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        default:
            break
        }
    }
}
