import ArgumentParser
import Foundation
import Logging
import TaskAPI
import TaskCore

/// The options every command takes: where the state is, and how to print.
struct CommonOptions: ParsableArguments {
    @Option(name: SettingCatalog.stateDirectory.name, help: SettingCatalog.stateDirectory.help)
    var stateDirectory: String?

    @Option(name: SettingCatalog.keysFile.name, help: SettingCatalog.keysFile.help)
    var keysFile: String?

    @Option(
        help:
            "Level of diagnostics on stderr: trace ... critical (default: warning; TASKD_LOG_LEVEL is for the servers)")
    var logLevel: String?

    @Flag(help: "Print JSON (one document on stdout) instead of text.")
    var json = false

    /// Resolves the settings, bootstraps logging and, when run as root, takes the identity of the state dir's owner.
    func makeContext() throws -> AdminContext {
        var overrides = ServiceSettings.Overrides()
        overrides.stateDirectory = stateDirectory
        overrides.keysFile = keysFile
        var environment = EnvironmentFile.merged(into: ProcessInfo.processInfo.environment)
        // An admin command is quiet unless asked: the servers' TASKD_LOG_LEVEL (usually info) does not apply here.
        overrides.logLevel = logLevel ?? "warning"
        environment["TASKD_LOG_LEVEL"] = nil
        let settings: ServiceSettings
        do {
            settings = try ServiceSettings.resolve(overrides: overrides, environment: environment)
        } catch {
            throw CommandFailure(.configuration, error.message)
        }
        let level = settings.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        try Privileges.adoptOwner(of: settings.stateDirectory)
        return AdminContext(
            settings: settings, output: Output(json: json), logger: Logger(label: "taskd.ctl"), environment: environment
        )
    }
}
