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
    /// Open mode's bounds on the whole state directory (`store.maxTenants` and `.maxWorkspacesInAll` hold them when
    /// open mode is on; they are not enforced without it).
    public var openMaxTenants: Int
    public var openMaxWorkspaces: Int
    public var logLevel: Logger.Level
    /// The store's tuning: checkpoint threshold, lock-wait deadline, cap on waiting writers.
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
        public var openMaxTenants: Int?
        public var openMaxWorkspaces: Int?
        public var logLevel: String?
        public var checkpointBytes: Int?
        public var lockWaitMilliseconds: Int?
        public var maxWaitingWriters: Int?

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
        let openMode = try reader.value(of: SettingCatalog.openMode, flag: overrides.openMode)
        let openMaxTenants = try reader.value(of: SettingCatalog.openMaxTenants, flag: overrides.openMaxTenants)
        let openMaxWorkspaces = try reader.value(
            of: SettingCatalog.openMaxWorkspaces, flag: overrides.openMaxWorkspaces)
        var store = StoreOptions(
            checkpointBytes: Int64(
                try reader.value(of: SettingCatalog.checkpointBytes, flag: overrides.checkpointBytes)),
            lockWait: .milliseconds(
                try reader.value(of: SettingCatalog.lockWait, flag: overrides.lockWaitMilliseconds)),
            maxWritersPerWorkspace: try reader.value(
                of: SettingCatalog.maxWaitingWriters, flag: overrides.maxWaitingWriters))
        if openMode {
            store.maxTenants = openMaxTenants
            store.maxWorkspacesInAll = openMaxWorkspaces
        }
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
            openMode: openMode,
            openMaxTenants: openMaxTenants,
            openMaxWorkspaces: openMaxWorkspaces,
            // The declaration accepts only names of levels.
            logLevel: Logger.Level(rawValue: level) ?? .info,
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
            "open.limit.tenants": "\(openMaxTenants)",
            "open.limit.workspaces": "\(openMaxWorkspaces)",
            "store.checkpoint.bytes": "\(store.checkpointBytes)",
            "store.lock.wait": "\(store.lockWait)",
            "store.writers.max": "\(store.maxWritersPerWorkspace)",
            "store.writers.process.max": "\(store.maxWritersInProcess.map { "\($0)" } ?? "none")",
        ]
    }
}

extension ServiceSettings {
    public static func == (lhs: ServiceSettings, rhs: ServiceSettings) -> Bool {
        lhs.stateDirectory == rhs.stateDirectory && lhs.keysFile == rhs.keysFile && lhs.policy == rhs.policy
            && lhs.corsOrigins == rhs.corsOrigins && lhs.maxTasksPerWorkspace == rhs.maxTasksPerWorkspace
            && lhs.maxWorkspacesPerTenant == rhs.maxWorkspacesPerTenant
            && lhs.maxConnectionsPerTenant == rhs.maxConnectionsPerTenant && lhs.openMode == rhs.openMode
            && lhs.openMaxTenants == rhs.openMaxTenants && lhs.openMaxWorkspaces == rhs.openMaxWorkspaces
            && lhs.logLevel == rhs.logLevel && lhs.store.checkpointBytes == rhs.store.checkpointBytes
            && lhs.store.lockWait == rhs.store.lockWait
            && lhs.store.maxWritersPerWorkspace == rhs.store.maxWritersPerWorkspace
            && lhs.store.maxWritersInProcess == rhs.store.maxWritersInProcess
            && lhs.store.maxTenants == rhs.store.maxTenants
            && lhs.store.maxWorkspacesInAll == rhs.store.maxWorkspacesInAll
    }
}

extension WorkspaceStore {
    /// The store of a server or of `taskctl`, as the settings describe it (`readOnly`: see the designated init).
    public convenience init(settings: ServiceSettings, logger: Logger, readOnly: Bool = false) throws(StoreError) {
        try self.init(
            directory: settings.stateDirectory, maxWorkspacesPerTenant: settings.maxWorkspacesPerTenant,
            logger: logger, options: settings.store, readOnly: readOnly)
    }
}
