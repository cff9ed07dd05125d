import ArgumentParser

/// The command-line flags of the settings every taskd server shares; each binary adds its own beside them with
/// `@OptionGroup`. Every flag is optional: an absent one leaves the `TASKD_*` variable or the default in force.
public struct SharedOptions: ParsableArguments {
    @Option(help: "State directory (env: TASKD_STATE_DIR, default: /var/lib/taskd)")
    public var stateDir: String?

    @Option(help: "Keys file (env: TASKD_KEYS_FILE, default: <state dir>/keys.json)")
    public var keysFile: String?

    @Option(help: "Tasks running at once per workspace (env: TASKD_SLOTS, default: 6)")
    public var slots: Int?

    @Option(help: "Multiplier of every task duration (env: TASKD_TIME_SCALE, default: 1)")
    public var timeScale: Double?

    @Option(help: "Allowed CORS origins, comma-separated, or * (env: TASKD_CORS_ORIGINS, default: *)")
    public var corsOrigins: String?

    @Option(help: "Tasks kept per workspace (env: TASKD_MAX_TASKS, default: 10000)")
    public var maxTasks: Int?

    @Option(help: "Workspaces per tenant (env: TASKD_MAX_WORKSPACES, default: 1000)")
    public var maxWorkspaces: Int?

    @Option(help: "Accept any non-empty key as its own tenant: true or false (env: TASKD_OPEN_MODE, default: false)")
    public var openMode: Bool?

    @Option(help: "trace, debug, info, notice, warning, error or critical (env: TASKD_LOG_LEVEL, default: info)")
    public var logLevel: String?

    @Option(help: "Journal size in bytes that triggers a checkpoint (env: TASKD_CHECKPOINT_BYTES, default: 1048576)")
    public var checkpointBytes: Int?

    @Option(
        help: "Milliseconds a change may wait for its workspace before a 503 (env: TASKD_LOCK_WAIT_MS, default: 5000)")
    public var lockWaitMs: Int?

    @Option(
        help:
            "Changes one process lets wait for one workspace; more get a 503 (env: TASKD_MAX_WAITING_WRITERS, default: 8)"
    )
    public var maxWaitingWriters: Int?

    public init() {}

    /// The flags given, as overrides for `ServiceSettings.resolve`.
    public var overrides: ServiceSettings.Overrides {
        var overrides = ServiceSettings.Overrides()
        overrides.stateDirectory = stateDir
        overrides.keysFile = keysFile
        overrides.slots = slots
        overrides.timeScale = timeScale
        overrides.corsOrigins = corsOrigins
        overrides.maxTasksPerWorkspace = maxTasks
        overrides.maxWorkspacesPerTenant = maxWorkspaces
        overrides.openMode = openMode
        overrides.logLevel = logLevel
        overrides.checkpointBytes = checkpointBytes
        overrides.lockWaitMilliseconds = lockWaitMs
        overrides.maxWaitingWriters = maxWaitingWriters
        return overrides
    }
}
