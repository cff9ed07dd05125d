import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import ServiceLifecycle
import TaskCore

/// The HTTP/1 server that upgrades `GET /ws/tasks` to a WebSocket watching one workspace.
///
/// On graceful shutdown it stops accepting, sends every connection a close frame (1001, going away) and waits for
/// them to end.
final class WebSocketServer: Service {
    /// Frames from clients are ignored; anything larger than this is a protocol error (close 1009).
    static let maximumClientFrameBytes = 4_096
    /// A slow reader's channel stops being writable above this many queued bytes; it then keeps one pending list.
    static let writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 16 * 1_024, high: 64 * 1_024)

    private let listen: ListenAddress
    private let pingInterval: TimeAmount
    private let group: any EventLoopGroup
    private let gate: UpgradeGate
    private let hub: WorkspaceHub
    private let registry: ConnectionRegistry
    private let logger: Logger

    init(
        listen: ListenAddress, pingInterval: Duration, group: any EventLoopGroup, gate: UpgradeGate, hub: WorkspaceHub,
        registry: ConnectionRegistry, logger: Logger
    ) {
        self.listen = listen
        self.pingInterval = TimeAmount(pingInterval)
        self.group = group
        self.gate = gate
        self.hub = hub
        self.registry = registry
        self.logger = logger
    }

    func run() async throws {
        let channel = try await bind()
        logger.info("Listening", metadata: ["listen": "\(listen)"])
        try? await gracefulShutdown()
        try? await channel.close()
        let connections = registry.closeAll()
        logger.info("Shutting down", metadata: ["connections": "\(connections.count)"])
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
            .childChannelOption(.writeBufferWaterMark, value: Self.writeBufferWaterMark)
            .childChannelInitializer { [gate, hub, registry, logger, pingInterval] channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configure(
                        channel, gate: gate, hub: hub, registry: registry, pingInterval: pingInterval, logger: logger)
                }
            }
        switch listen {
        case .unix(let path):
            let channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            // nginx's workers must be able to connect; who may reach the socket is decided by its directory.
            chmod(path, 0o666)
            return channel
        case .tcp(let host, let port):
            return try await bootstrap.bind(host: host, port: port).get()
        }
    }

    private static func configure(
        _ channel: any Channel, gate: UpgradeGate, hub: WorkspaceHub, registry: ConnectionRegistry,
        pingInterval: TimeAmount, logger: Logger
    ) throws {
        let decision = UpgradeDecision()
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: maximumClientFrameBytes,
            // Protocol errors are answered by WebSocketConnection, which keeps the closing handshake RFC-shaped.
            automaticErrorHandling: false,
            shouldUpgrade: { channel, head in
                gate.admit(head, isUpgrade: true, channel: channel).map { admission in
                    switch admission {
                    case .accepted(let key):
                        decision.key = key
                        return HTTPHeaders()
                    case .rejected(let response):
                        decision.rejection = response
                        return nil
                    }
                }
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    guard let key = decision.key else { throw ChannelError.inappropriateOperationForState }
                    let connection = WebSocketConnection(
                        channel: channel, key: key, hub: hub, registry: registry, logger: logger)
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: pingInterval))
                    try channel.pipeline.syncOperations.addHandler(connection)
                }
            })
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
        try channel.pipeline.syncOperations.addHandler(HTTPFallbackHandler(gate: gate, decision: decision))
    }
}
