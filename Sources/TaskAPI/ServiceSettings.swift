import Logging
import TaskCore

/// The settings every taskd binary shares, resolved once at startup: flag, then `TASKD_*` variable, then default.
public struct ServiceSettings: Sendable, Equatable {
    public var stateDirectory: String
    public var keysFile: String
    public var policy: SchedulePolicy
    /// Origins allowed by CORS; `["*"]` allows any.
    public var corsOrigins: [String]
    public var maxTasksPerWorkspace: Int
    public var maxWorkspacesPerTenant: Int
    public var maxConnectionsPerTenant: Int
    /// Accept any non-empty key as its own tenant (for sandboxes). Off by default.
    public var openMode: Bool
    public var logLevel: Logger.Level

    /// Values given on the command line; `nil` leaves the variable or the default in force.
    public struct Overrides: Sendable, Equatable {
        public var stateDirectory: String?
        public var keysFile: String?
        public var slots: Int?
        public var timeScale: Double?
        public var corsOrigins: String?
        public var maxTasksPerWorkspace: Int?
        public var maxWorkspacesPerTenant: Int?
        public var maxConnectionsPerTenant: Int?
        public var openMode: Bool?
        public var logLevel: String?

        public init() {}
    }

    /// Resolves and validates every setting; a bad value is reported with the variable that holds it.
    public static func resolve(overrides: Overrides, environment: [String: String]) throws(ValidationError)
        -> ServiceSettings
    {
        let reader = SettingReader(environment: environment)
        let stateDirectory = try reader.value(of: SettingCatalog.stateDirectory, flag: overrides.stateDirectory)
        let keysFile = try reader.value(
            of: SettingCatalog.keysFile, flag: overrides.keysFile, default: stateDirectory + "/keys.json")
        let slots = try reader.value(of: SettingCatalog.slots, flag: overrides.slots)
        let timeScale = try reader.value(of: SettingCatalog.timeScale, flag: overrides.timeScale)
        let policy: SchedulePolicy
        do {
            policy = try SchedulePolicy(slots: slots, timeScale: timeScale)
        } catch {
            throw ValidationError(parameter: SettingCatalog.timeScale.variable, message: error.message)
        }
        let origins = try reader.value(of: SettingCatalog.corsOrigins, flag: overrides.corsOrigins)
            .split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        let level = try reader.value(of: SettingCatalog.logLevel, flag: overrides.logLevel)
        return ServiceSettings(
            stateDirectory: stateDirectory,
            keysFile: keysFile,
            policy: policy,
            corsOrigins: origins.isEmpty ? ["*"] : origins,
            maxTasksPerWorkspace: try reader.value(of: SettingCatalog.maxTasks, flag: overrides.maxTasksPerWorkspace),
            maxWorkspacesPerTenant: try reader.value(
                of: SettingCatalog.maxWorkspaces, flag: overrides.maxWorkspacesPerTenant),
            maxConnectionsPerTenant: try reader.value(
                of: SettingCatalog.maxWebSocketConnections, flag: overrides.maxConnectionsPerTenant),
            openMode: try reader.value(of: SettingCatalog.openMode, flag: overrides.openMode),
            // The declaration accepts only names of levels.
            logLevel: Logger.Level(rawValue: level) ?? .info)
    }

    /// The settings as they may be logged: nothing here is secret, but paths and limits help an operator.
    public var logMetadata: Logger.Metadata {
        [
            "state.dir": "\(stateDirectory)",
            "keys.file": "\(keysFile)",
            "slots": "\(policy.slots)",
            "time.scale": "\(policy.timeScale)",
            "cors.origins": "\(corsOrigins.joined(separator: ","))",
            "limit.tasks": "\(maxTasksPerWorkspace)",
            "limit.workspaces": "\(maxWorkspacesPerTenant)",
            "limit.connections": "\(maxConnectionsPerTenant)",
            "open.mode": "\(openMode)",
        ]
    }
}
