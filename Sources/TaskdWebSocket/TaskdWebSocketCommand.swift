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
                ["listen": "\(resolved.listen)", "ping.interval": "\(resolved.pingInterval)"]
            ) { $1 })

        let store = try WorkspaceStore(
            directory: settings.stateDirectory, maxWorkspacesPerTenant: settings.maxWorkspacesPerTenant,
            logger: logger)
        let keys = KeyRing(path: settings.keysFile, openMode: settings.openMode, logger: logger)
        let api = APIHandler(settings: settings, store: store, keys: keys, logger: logger)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        let hub = WorkspaceHub(
            eventLoop: group.next(), machine: TaskStateMachine(policy: settings.policy), threadPool: threadPool,
            clock: WallClock.now, logger: logger, read: { key in try store.read(key) })
        let registry = ConnectionRegistry(limitPerTenant: settings.maxConnectionsPerTenant)
        let feed = try ChangeFeed(stateDirectory: settings.stateDirectory, hub: hub, logger: logger)
        let server = WebSocketServer(
            listen: resolved.listen, pingInterval: resolved.pingInterval, group: group,
            gate: UpgradeGate(api: api, registry: registry, threadPool: threadPool), hub: hub, registry: registry,
            logger: logger)

        var groupConfiguration = ServiceGroupConfiguration(
            services: [feed, server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(5)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            logger.error("Stopped on an error", metadata: ["error": "\(error)"])
            try? await threadPool.shutdownGracefully()
            try? await group.shutdownGracefully()
            throw ExitCode.failure
        }
        try? await threadPool.shutdownGracefully()
        try? await group.shutdownGracefully()
        logger.info("Stopped")
    }
}
