import ArgumentParser
import TaskAPI

/// Command-line flags of taskd-fcgi. Every one is optional: an absent flag leaves the `TASKD_*` variable or the
/// default in force (see `FastCGIConfiguration.resolve`).
struct FastCGIOptions: ParsableArguments {
    @Option(help: "State directory (env: TASKD_STATE_DIR, default: /var/lib/taskd)")
    var stateDir: String?

    @Option(help: "Keys file (env: TASKD_KEYS_FILE, default: <state dir>/keys.json)")
    var keysFile: String?

    @Option(help: "Tasks running at once per workspace (env: TASKD_SLOTS, default: 6)")
    var slots: Int?

    @Option(help: "Multiplier of every task duration (env: TASKD_TIME_SCALE, default: 1)")
    var timeScale: Double?

    @Option(help: "Allowed CORS origins, comma-separated, or * (env: TASKD_CORS_ORIGINS, default: *)")
    var corsOrigins: String?

    @Option(help: "Tasks kept per workspace (env: TASKD_MAX_TASKS, default: 10000)")
    var maxTasks: Int?

    @Option(help: "Workspaces per tenant (env: TASKD_MAX_WORKSPACES, default: 1000)")
    var maxWorkspaces: Int?

    @Option(help: "Accept any non-empty key as its own tenant: true or false (env: TASKD_OPEN_MODE, default: false)")
    var openMode: Bool?

    @Option(help: "trace, debug, info, notice, warning, error or critical (env: TASKD_LOG_LEVEL, default: info)")
    var logLevel: String?

    @Option(
        help: """
            Unix socket to create and listen on; ignored under systemd socket activation or when fd 0 is an \
            inherited listening socket (env: TASKD_FCGI_SOCKET, default: /run/taskd/fcgi.sock)
            """)
    var socket: String?

    @Option(help: "Octal permissions of the created socket (env: TASKD_FCGI_SOCKET_MODE, default: 0660)")
    var socketMode: String?

    @Option(help: "Threads serving requests (env: TASKD_FCGI_THREADS, default: 16)")
    var threads: Int?

    var overrides: ServiceSettings.Overrides {
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
        return overrides
    }
}
