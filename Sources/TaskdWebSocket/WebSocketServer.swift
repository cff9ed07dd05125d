import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import ServiceLifecycle
import TaskAPI
import TaskCore

/// The HTTP/1 server that upgrades `GET /ws/tasks` to a WebSocket watching one workspace.
///
/// Each connection's pipeline is NIO's upgradable HTTP server pipeline with its typed WebSocket upgrader. Its one
/// request is decided once by `UpgradeGate`, through `AdmissionHandler`, which answers refusals itself; the upgrader
/// and the stream it starts read that decision, and the pipeline's result says what became of the connection.
///
/// Accepting pauses while `socketCap` sockets are open; sockets beyond the registry's budget are answered 503. A
/// connection that is neither upgraded nor answered within `handshakeTimeout` of its accept is closed.
/// On graceful shutdown it stops accepting, sends every connection a close frame (1001, going away) and waits for
/// them to end; a failure elsewhere ends it the same way.
final class WebSocketServer: Service {
    /// Frames from clients are ignored; anything larger than this is refused by NIO's decoder (close 1009) before its
    /// payload is read. Messages are limited to the same size by `ClientFramePolicy`.
    static let maximumClientFrameBytes = ClientFramePolicy.maximumMessageBytes
    /// A slow reader's channel stops being writable above this many queued bytes; it then keeps one pending frame and
    /// reads nothing more from the client until the channel is writable again.
    static let writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 16 * 1_024, high: 64 * 1_024)
    /// What one read of a connection may take: clients send a handshake and then next to nothing, so small reads cost
    /// honest clients nothing, while a client that floods frames gets at most this much decoded per turn of its event
    /// loop (about 2,700 empty pings), and never delays the other connections of the loop by more.
    static let readAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1_024, maximum: 16 * 1_024)
    /// From accept to upgrade (or to the answer of a refused request). nginx sends a request whole once its client
    /// has sent it all (nginx's own `client_header_timeout` bounds that part), and the checks take milliseconds: a
    /// connection still without an upgrade after this long is stuck or hostile.
    static let handshakeTimeout: TimeAmount = .seconds(10)

    /// What the pipeline made of a connection.
    enum Negotiated: Sendable {
        /// Upgraded: the connection streams `ticket.key`.
        case webSocket(WebSocketConnection, UpgradeGate.Ticket)
        /// Not upgraded (never expected: the gate accepts only complete handshakes): closed.
        case closed
    }

    /// Everything a connection's pipeline is built from.
    struct Parts: Sendable {
        let gate: UpgradeGate
        let hub: WorkspaceHub
        let registry: ConnectionRegistry
        let pingInterval: TimeAmount
        let logger: Logger
    }

    private let listen: ListenAddress
    private let socketMode: UInt32
    private let socketCap: Int
    private let group: any EventLoopGroup
    private let parts: Parts

    init(
        listen: ListenAddress, socketMode: UInt32, socketCap: Int, pingInterval: Duration, group: any EventLoopGroup,
        gate: UpgradeGate, hub: WorkspaceHub, logger: Logger
    ) {
        self.listen = listen
        self.socketMode = socketMode
        self.socketCap = socketCap
        self.group = group
        self.parts = Parts(
            gate: gate, hub: hub, registry: gate.registry, pingInterval: TimeAmount(pingInterval), logger: logger)
    }

    func run() async throws {
        let channel = try await bind()
        parts.logger.info("Listening", metadata: ["listen": "\(listen)"])
        // Returns on graceful shutdown, and throws when the task is cancelled (another service failed): either way
        // the server ends below.
        try? await gracefulShutdown()
        try? await channel.close()
        let connections = parts.registry.closeAll()
        parts.logger.info("Shutting down", metadata: ["connections": "\(connections.count)"])
        let closed = connections.map { connection in
            connection.eventLoop.execute { connection.goAway() }
            return connection.closeFuture
        }
        if let first = closed.first {
            try? await EventLoopFuture.andAllComplete(closed, on: first.eventLoop).get()
        }
        if case .unix(let path) = listen { unlink(path) }
    }

    private func bind() async throws -> any Channel {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1_024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { [socketCap] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptLimiter(socketCap: socketCap))
                }
            }
            .childChannelOption(.writeBufferWaterMark, value: Self.writeBufferWaterMark)
            .childChannelOption(.recvAllocator, value: Self.readAllocator)
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelInitializer { [parts] channel in
                channel.eventLoop.makeCompletedFuture { try Self.configure(channel, parts) }
            }
        switch listen {
        case .unix(let path):
            let channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            // nginx's workers connect through the socket's group (the directory's, set-group-ID); others may not.
            guard chmod(path, mode_t(socketMode)) == 0 else {
                let code = errno
                try? await channel.close()
                throw StartupError("Cannot set the mode of \(path): \(String(cString: strerror(code)))")
            }
            return channel
        case .tcp(let host, let port):
            return try await bootstrap.bind(host: host, port: port).get()
        }
    }

    private static func configure(_ channel: any Channel, _ parts: Parts) throws {
        let sync = channel.pipeline.syncOperations
        let api = parts.gate.api
        let decided = channel.eventLoop.makePromise(of: UpgradeGate.Admission.self)
        let deadline = channel.eventLoop.scheduleTask(in: handshakeTimeout) { [logger = parts.logger] in
            logger.debug("No upgrade within the handshake timeout; closing")
            channel.close(promise: nil)
        }
        channel.closeFuture.whenComplete { _ in deadline.cancel() }
        guard parts.registry.serve(channel) else {
            // Beyond the budget: 503 before anything else, without the upgrader.
            try sync.configureHTTPServerPipeline(withErrorHandling: false)
            try sync.addHandler(
                AdmissionHandler(api: api, decided: decided) { head, channel in
                    channel.eventLoop.makeSucceededFuture(.rejected(overCapacityResponse(to: head, api: api)))
                })
            return
        }
        let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
            maxFrameSize: maximumClientFrameBytes,
            // Protocol errors are answered by WebSocketConnection, which keeps the closing handshake RFC-shaped.
            enableAutomaticErrorHandling: false,
            shouldUpgrade: { _, _ in
                decided.futureResult.map { admission in
                    guard case .accepted = admission else { return nil }
                    return HTTPHeaders()
                }
            },
            upgradePipelineHandler: { channel, _ in
                decided.futureResult.flatMapThrowing { admission in
                    guard case .accepted(let ticket) = admission else {
                        throw ChannelError.inappropriateOperationForState
                    }
                    return try startStream(on: channel, ticket: ticket, parts)
                }
            })
        var configuration = NIOUpgradableHTTPServerPipelineConfiguration(
            upgradeConfiguration: NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    // Only accepted requests get here, and the gate accepts only handshakes NIO upgrades.
                    channel.close(promise: nil)
                    return channel.eventLoop.makeSucceededFuture(.closed)
                }))
        // One request per connection, answered or passed on by AdmissionHandler, parse errors included (as JSON).
        configuration.enablePipelining = false
        configuration.enableErrorHandling = false
        let negotiated = try sync.configureUpgradableHTTPServerPipeline(configuration: configuration)
        let upgradeHandler = try sync.handler(type: NIOTypedHTTPServerUpgradeHandler<Negotiated>.self)
        let admission = AdmissionHandler(api: api, decided: decided) { head, channel in
            parts.gate.admit(head, isUpgrade: UpgradeGate.asksForWebSocket(head), channel: channel)
        }
        try sync.addHandler(admission, position: .before(upgradeHandler))
        negotiated.whenSuccess { [registry = parts.registry] negotiated in
            guard case .webSocket(let connection, let ticket) = negotiated else { return }
            deadline.cancel()
            if !registry.add(connection, generation: ticket.generation) { connection.goAway() }
        }
    }

    private static func overCapacityResponse(to head: HTTPRequestHead, api: APIHandler) -> Response {
        do {
            return api.errorResponse(for: UpgradeError.overCapacity, to: try Request(head: head))
        } catch {
            return api.errorResponse(forUnreadableRequest: error)
        }
    }

    /// Turns the upgraded channel into a stream of `ticket.key`'s lists.
    private static func startStream(on channel: any Channel, ticket: UpgradeGate.Ticket, _ parts: Parts) throws
        -> Negotiated
    {
        let sync = channel.pipeline.syncOperations
        let writer = FrameWriter()
        try sync.addHandler(writer, position: .first)
        try sync.addHandler(IdleStateHandler(readTimeout: parts.pingInterval))
        let connection = WebSocketConnection(
            channel: channel, ticket: ticket, writer: writer, hub: parts.hub, logger: parts.logger)
        try sync.addHandler(connection)
        return .webSocket(connection, ticket)
    }
}
