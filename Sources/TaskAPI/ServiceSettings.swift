import Logging
import TaskCore
import TaskStore

/// The settings every taskd binary shares, resolved once at startup: flag, then `TASKD_*` variable, then default.
public struct ServiceSettings: Sendable, Equatable {
    // Equatable by hand below: `StoreOptions` holds a closure (the test fault hook).
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
    /// The store's tuning: checkpoint threshold, lock-wait deadline, cap on waiting writers (issue #8).
    public var store: StoreOptions

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
        public var checkpointBytes: Int?
        public var lockWaitMilliseconds: Int?
        public var maxWaitingWriters: Int?

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
        let store = StoreOptions(
            checkpointBytes: Int64(
                try reader.integer(
                    overrides.checkpointBytes, "TASKD_CHECKPOINT_BYTES",
                    default: Int(StoreOptions.defaultCheckpointBytes), in: 4_096...1 << 30)),
            lockWait: .milliseconds(
                try reader.integer(
                    overrides.lockWaitMilliseconds, "TASKD_LOCK_WAIT_MS", default: 5_000, in: 1...600_000)),
            maxWritersPerWorkspace: try reader.integer(
                overrides.maxWaitingWriters, "TASKD_MAX_WAITING_WRITERS",
                default: StoreOptions.defaultMaxWritersPerWorkspace, in: 1...100_000))
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
            logLevel: logLevel,
            store: store)
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
            "store.checkpoint.bytes": "\(store.checkpointBytes)",
            "store.lock.wait": "\(store.lockWait)",
            "store.writers.max": "\(store.maxWritersPerWorkspace)",
        ]
    }
}

extension ServiceSettings {
    public static func == (lhs: ServiceSettings, rhs: ServiceSettings) -> Bool {
        lhs.stateDirectory == rhs.stateDirectory && lhs.keysFile == rhs.keysFile && lhs.policy == rhs.policy
            && lhs.corsOrigins == rhs.corsOrigins && lhs.maxTasksPerWorkspace == rhs.maxTasksPerWorkspace
            && lhs.maxWorkspacesPerTenant == rhs.maxWorkspacesPerTenant
            && lhs.maxConnectionsPerTenant == rhs.maxConnectionsPerTenant && lhs.openMode == rhs.openMode
            && lhs.logLevel == rhs.logLevel && lhs.store.checkpointBytes == rhs.store.checkpointBytes
            && lhs.store.lockWait == rhs.store.lockWait
            && lhs.store.maxWritersPerWorkspace == rhs.store.maxWritersPerWorkspace
    }
}

extension WorkspaceStore {
    /// The store of a server or of `taskctl`, as the settings describe it.
    public convenience init(settings: ServiceSettings, logger: Logger) throws(StoreError) {
        try self.init(
            directory: settings.stateDirectory, maxWorkspacesPerTenant: settings.maxWorkspacesPerTenant,
            logger: logger, options: settings.store)
    }
}
