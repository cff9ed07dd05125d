import ArgumentParser
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// `taskd-ws-bench floor`: the least a fan-out server can do, for `make bench-ws` to measure the machine's floor
/// beside taskd in the same run: it keeps a task list in memory, answers `POST /tasks` and `DELETE /tasks/ID` on its
/// own socket (no store, no fsync, no change log), and sends each new list to every WebSocket subscriber the way
/// taskd-ws does at best: one frame built once, written as the same buffer next to each socket.
struct Floor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A minimal fan-out server: the floor taskd-ws is compared with (runs until killed).")

    @Option(help: "Unix socket to listen on (nginx proxies /ws/tasks here; the benchmark posts here directly)")
    var socket: String

    func run() async throws {
        let fanOut = FloorFanOut()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1_024)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOWebSocketServerUpgrader(
                        shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                let writer = FloorWriter()
                                try channel.pipeline.syncOperations.addHandler(writer, position: .first)
                                fanOut.subscribe(writer, on: channel)
                            }
                        })
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                    try channel.pipeline.syncOperations.addHandler(FloorRequestHandler(fanOut: fanOut))
                }
            }
            .bind(unixDomainSocketPath: socket, cleanupExistingSocketFile: true).get()
        try await channel.closeFuture.get()
    }
}

/// The list and the subscribers, grouped by event loop so that a list reaches each loop with one hop.
final class FloorFanOut: Sendable {
    private struct State {
        var tasks: [(id: Int, text: String)] = []
        var nextID = 1
        var frame = FloorFanOut.frame(for: [])
        var loops:
            [ObjectIdentifier: (
                loop: any EventLoop, writers: [(id: ObjectIdentifier, writer: NIOLoopBound<FloorWriter>)]
            )] =
                [:]
    }

    private let state = Mutex(State())

    func subscribe(_ writer: FloorWriter, on channel: any Channel) {
        let loop = channel.eventLoop
        let id = ObjectIdentifier(writer)
        let frame = state.withLock { state in
            state.loops[ObjectIdentifier(loop), default: (loop, [])].writers.append(
                (id, NIOLoopBound(writer, eventLoop: loop)))
            return state.frame
        }
        writer.send(frame)
        channel.closeFuture.whenComplete { _ in
            self.state.withLock { $0.loops[ObjectIdentifier(loop)]?.writers.removeAll { $0.id == id } }
        }
    }

    /// Adds a task (the first one runs, the rest wait, as behind taskd's one slot); returns its id and JSON.
    func create() -> (id: Int, json: String) {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            let json =
                id == 1
                ? #"{"id":1,"name":"blocker","type":"gx.heavy","status":"running"}"#
                : #"{"id":\#(id),"name":"m","type":"gx.tiny","status":"queued"}"#
            state.tasks.append((id, json))
            state.frame = Self.frame(for: state.tasks.map(\.text))
            return (id, json)
        }
    }

    func delete(_ id: Int) -> Bool {
        state.withLock { state in
            guard let index = state.tasks.firstIndex(where: { $0.id == id }) else { return false }
            state.tasks.remove(at: index)
            state.frame = Self.frame(for: state.tasks.map(\.text))
            return true
        }
    }

    /// Sends the current list to every subscriber: one task per event loop, the same buffer for everyone.
    func broadcast() {
        let (frame, groups) = state.withLock { ($0.frame, Array($0.loops.values)) }
        for group in groups {
            group.loop.execute {
                for member in group.writers { member.writer.value.send(frame) }
            }
        }
    }

    /// A final, unmasked text frame holding the list.
    static func frame(for tasks: [String]) -> ByteBuffer {
        let payload = Array(("[" + tasks.joined(separator: ",") + "]").utf8)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0x81))
        if payload.count < 126 {
            buffer.writeInteger(UInt8(payload.count))
        } else if payload.count < 65_536 {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(payload.count))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(payload.count))
        }
        buffer.writeBytes(payload)
        return buffer
    }
}

/// Writes frames at the head of its pipeline, straight to the socket.
final class FloorWriter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func send(_ frame: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }
}

/// `POST /tasks` (201 with the task) and `DELETE /tasks/ID` (204), each followed by a broadcast of the new list.
final class FloorRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let fanOut: FloorFanOut
    private var head: HTTPRequestHead?

    init(fanOut: FloorFanOut) {
        self.fanOut = fanOut
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
            if head.method == .POST, path == "/tasks" {
                let created = fanOut.create()
                respond(.created, body: #"{"task":\#(created.json)}"#, context: context)
                fanOut.broadcast()
            } else if head.method == .DELETE, path.hasPrefix("/tasks/"), let id = Int(path.dropFirst(7)),
                fanOut.delete(id)
            {
                respond(.noContent, body: "", context: context)
                fanOut.broadcast()
            } else {
                respond(.notFound, body: #"{"code":"not_found","message":"no"}"#, context: context)
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .upgradeComplete = event as? HTTPServerUpgradeEvents {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func respond(_ status: HTTPResponseStatus, body: String, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        if !body.isEmpty { headers.add(name: "Content-Type", value: "application/json") }
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !body.isEmpty { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
