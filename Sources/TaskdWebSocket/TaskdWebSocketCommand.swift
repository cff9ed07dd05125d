import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TaskAPI
import TaskCore
import TaskStore

/// `taskd-ws`: streams each watched workspace's task list over WebSocket, behind nginx.
@main
struct TaskdWebSocketCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskd-ws",
        abstract: "Streams each workspace's task list to WebSocket clients (GET /ws/tasks).",
        version: TaskdVersion.current)

    /// Below this many connections, the budget is logged as a warning: the deployment documents 10,000 clients.
    static let expectedConnections = 10_000

    @OptionGroup var options: WebSocketOptions

    func run() async throws {
        let resolved: WebSocketConfiguration
        do throws(TaskCore.ValidationError) {
            resolved = try WebSocketConfiguration.resolve(
                options: options, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ArgumentParser.ValidationError(error.message)
        }
        let settings = resolved.settings
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "taskd.ws")
        logger.logLevel = settings.logLevel
        logger.info(
            "Starting",
            metadata: settings.logMetadata.merging(
                [
                    "listen": "\(resolved.listen)", "ping.interval": "\(resolved.pingInterval)",
                    "limit.open_mode.connections": "\(resolved.openModeConnectionLimit.map(String.init) ?? "-")",
                    "socket.mode": "\(String(resolved.socketMode, radix: 8))",
                ]
            ) { $1 })

        // Only reads: the state directory may be (and under systemd is) read-only to this process.
        let store = try WorkspaceStore(settings: settings, logger: logger, readOnly: true)
        let keys = KeyRing(path: settings.keysFile, openMode: settings.openMode, logger: logger)
        let api = APIHandler(settings: settings, store: store, keys: keys, logger: logger)

        // NIO's process-wide event loops and thread pool: nothing to shut down, so every way out is the same.
        let group = MultiThreadedEventLoopGroup.singleton
        let threadPool = NIOThreadPool.singleton
        let hub = WorkspaceHub(
            eventLoop: group.next(), machine: TaskStateMachine(policy: settings.policy), threadPool: threadPool,
            clock: WallClock.now, logger: logger, read: { key in try store.read(key) })
        let feed = ChangeFeed(store: store, hub: hub, logger: logger)

        // Taken once everything that stays open is open (event loops, the change log), before the first connection.
        let budget = DescriptorBudget.ofThisProcess()
        let budgetMetadata: Logger.Metadata = [
            "fd.limit": "\(budget.limit)", "fd.in_use": "\(budget.inUse)", "connections.max": "\(budget.connections)",
        ]
        if budget.connections < Self.expectedConnections {
            logger.warning(
                "The open-files limit allows fewer WebSocket connections than expected; raise LimitNOFILE",
                metadata: budgetMetadata.merging(["connections.expected": "\(Self.expectedConnections)"]) { $1 })
        } else {
            logger.info("Connection budget", metadata: budgetMetadata)
        }
        let registry = ConnectionRegistry(
            budget: budget.connections, limitPerTenant: settings.maxConnectionsPerTenant,
            limitInAll: resolved.openModeConnectionLimit)
        let gate = UpgradeGate(api: api, keys: keys, registry: registry, threadPool: threadPool)
        let server = WebSocketServer(
            listen: resolved.listen, socketMode: resolved.socketMode, socketCap: budget.socketCap,
            pingInterval: resolved.pingInterval, group: group, gate: gate, hub: hub, logger: logger)
        let keyWatch = KeyWatch(keys: keys, registry: registry, threadPool: threadPool, logger: logger)

        var groupConfiguration = ServiceGroupConfiguration(
            services: [feed, server, keyWatch], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(5)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            logger.error("Stopped on an error", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        logger.info("Stopped")
    }
}
