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

    public static let defaultStateDirectory = "/var/lib/taskd"

    /// Resolves and validates every setting; a bad value is reported with the variable that holds it.
    public static func resolve(overrides: Overrides, environment: [String: String]) throws(ValidationError)
        -> ServiceSettings
    {
        let reader = SettingReader(environment: environment)
        let stateDirectory = try reader.string(
            overrides.stateDirectory, "TASKD_STATE_DIR", default: defaultStateDirectory)
        let keysFile = try reader.string(overrides.keysFile, "TASKD_KEYS_FILE", default: stateDirectory + "/keys.json")
        let slots = try reader.integer(
            overrides.slots, "TASKD_SLOTS", default: SchedulePolicy.defaultSlots, in: 1...10_000)
        let timeScale = try reader.double(overrides.timeScale, "TASKD_TIME_SCALE", default: 1)
        let policy: SchedulePolicy
        do {
            policy = try SchedulePolicy(slots: slots, timeScale: timeScale)
        } catch {
            throw ValidationError(parameter: "TASKD_TIME_SCALE", message: error.message)
        }
        let origins = try reader.string(overrides.corsOrigins, "TASKD_CORS_ORIGINS", default: "*")
            .split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        let level = try reader.string(overrides.logLevel, "TASKD_LOG_LEVEL", default: "info")
        guard let logLevel = Logger.Level(rawValue: level) else {
            throw ValidationError(
                parameter: "TASKD_LOG_LEVEL",
                message:
                    "TASKD_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical; got '\(level)'."
            )
        }
        return ServiceSettings(
            stateDirectory: stateDirectory,
            keysFile: keysFile,
            policy: policy,
            corsOrigins: origins.isEmpty ? ["*"] : origins,
            maxTasksPerWorkspace: try reader.integer(
                overrides.maxTasksPerWorkspace, "TASKD_MAX_TASKS", default: 10_000, in: 1...10_000_000),
            maxWorkspacesPerTenant: try reader.integer(
                overrides.maxWorkspacesPerTenant, "TASKD_MAX_WORKSPACES", default: 1_000, in: 1...10_000_000),
            maxConnectionsPerTenant: try reader.integer(
                overrides.maxConnectionsPerTenant, "TASKD_MAX_WS_CONNECTIONS", default: 100, in: 1...10_000_000),
            openMode: try reader.boolean(overrides.openMode, "TASKD_OPEN_MODE", default: false),
            logLevel: logLevel)
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
