import ArgumentParser

/// The command-line flags of the settings every taskd server shares; each binary adds its own beside them with
/// `@OptionGroup`. Every flag is optional: an absent one leaves the `TASKD_*` variable or the default in force. Names
/// and help come from `SettingCatalog`.
public struct SharedOptions: ParsableArguments {
    @Option(name: SettingCatalog.stateDirectory.name, help: SettingCatalog.stateDirectory.help)
    public var stateDir: String?

    @Option(name: SettingCatalog.keysFile.name, help: SettingCatalog.keysFile.help)
    public var keysFile: String?

    @Option(name: SettingCatalog.slots.name, help: SettingCatalog.slots.help)
    public var slots: Int?

    @Option(name: SettingCatalog.timeScale.name, help: SettingCatalog.timeScale.help)
    public var timeScale: Double?

    @Option(name: SettingCatalog.corsOrigins.name, help: SettingCatalog.corsOrigins.help)
    public var corsOrigins: String?

    @Option(name: SettingCatalog.maxTasks.name, help: SettingCatalog.maxTasks.help)
    public var maxTasks: Int?

    @Option(name: SettingCatalog.maxWorkspaces.name, help: SettingCatalog.maxWorkspaces.help)
    public var maxWorkspaces: Int?

    @Option(name: SettingCatalog.openMode.name, help: SettingCatalog.openMode.help)
    public var openMode: Bool?

    @Option(name: SettingCatalog.openMaxTenants.name, help: SettingCatalog.openMaxTenants.help)
    public var openMaxTenants: Int?

    @Option(name: SettingCatalog.openMaxWorkspaces.name, help: SettingCatalog.openMaxWorkspaces.help)
    public var openMaxWorkspaces: Int?

    @Option(name: SettingCatalog.logLevel.name, help: SettingCatalog.logLevel.help)
    public var logLevel: String?

    @Option(name: SettingCatalog.checkpointBytes.name, help: SettingCatalog.checkpointBytes.help)
    public var checkpointBytes: Int?

    @Option(name: SettingCatalog.lockWait.name, help: SettingCatalog.lockWait.help)
    public var lockWaitMs: Int?

    @Option(name: SettingCatalog.maxWaitingWriters.name, help: SettingCatalog.maxWaitingWriters.help)
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
        overrides.openMaxTenants = openMaxTenants
        overrides.openMaxWorkspaces = openMaxWorkspaces
        overrides.logLevel = logLevel
        overrides.checkpointBytes = checkpointBytes
        overrides.lockWaitMilliseconds = lockWaitMs
        overrides.maxWaitingWriters = maxWaitingWriters
        return overrides
    }
}
