import ArgumentParser
import Foundation
import Logging
import TaskAPI
import TaskCore
import TaskStore

/// `taskd-fcgi`: the REST API of taskd as a FastCGI responder behind nginx.
@main
struct TaskdFastCGI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskd-fcgi",
        abstract: "Serves the taskd REST API as a FastCGI responder (libfcgi) behind nginx.",
        discussion: """
            Listens on a unix socket it creates (--socket), on a socket passed by systemd socket activation \
            (LISTEN_FDS), or on a listening socket inherited on fd 0. SIGTERM or SIGINT stops accepting, lets \
            requests in flight finish, and exits 0.
            """,
        version: TaskdVersion.current)

    @OptionGroup var options: FastCGIOptions

    func run() throws {
        let configuration: FastCGIConfiguration
        do {
            configuration = try FastCGIConfiguration.resolve(
                options: options, environment: ProcessInfo.processInfo.environment, processID: getpid())
        } catch {
            throw ArgumentParser.ValidationError(error.message)
        }
        let level = configuration.settings.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "taskd.fcgi")
        do {
            try serve(configuration, logger: logger)
        } catch {
            logger.critical("taskd-fcgi cannot start", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }

    private func serve(_ configuration: FastCGIConfiguration, logger: Logger) throws {
        let settings = configuration.settings
        var startMetadata = settings.logMetadata
        startMetadata["threads"] = "\(configuration.threads)"
        logger.info("Starting taskd-fcgi", metadata: startMetadata)

        let store = try WorkspaceStore(settings: settings, logger: logger)
        let keys = KeyRing(path: settings.keysFile, openMode: settings.openMode, logger: logger)
        let handler = APIHandler(settings: settings, store: store, keys: keys, logger: logger)

        try ShutdownSignal.prepare()
        ShutdownSignal.blockInCurrentThread()
        let socket = try ListeningSocket.open(configuration.listener)
        logger.info("Listening", metadata: ["listener": "\(socket.origin)"])
        let server = FastCGIServer(
            listenDescriptor: socket.descriptor, threads: configuration.threads,
            bodyLimit: APIHandler.maximumBodyBytes + 1, logger: logger
        ) { exchange in
            handler.handle(Request(fastCGI: exchange)).fastCGIRecord
        }
        defer { socket.close() }
        try server.run()
        logger.info("Stopped: every request in flight was answered")
    }
}
