import Logging
import TaskCore
import TaskStore

/// Every setting of taskd, each declared once. The servers' and taskctl's flags, their `--help`, the resolved
/// configuration and the README's settings table all come from (or are checked against) these declarations.
public enum SettingCatalog {
    private static let servers: [SettingDeclarationReader] = [.fastCGI, .webSocket]
    private static let everyBinary: [SettingDeclarationReader] = [.fastCGI, .webSocket, .taskctl]

    // MARK: Shared by the servers (and taskctl, from the environment)

    public static let stateDirectory = Setting<String>(
        variable: "TASKD_STATE_DIR", flag: "state-dir", summary: "State directory", default: "/var/lib/taskd",
        readers: everyBinary)

    public static let keysFile = Setting<String>(
        variable: "TASKD_KEYS_FILE", flag: "keys-file", summary: "Keys file", default: nil,
        defaultText: "<state dir>/keys.json", readers: everyBinary)

    public static let slots = Setting<Int>(
        variable: "TASKD_SLOTS", flag: "slots", summary: "Tasks running at once per workspace",
        default: SchedulePolicy.defaultSlots, in: 1...10_000, readers: servers)

    public static let timeScale = Setting<Double>(
        variable: "TASKD_TIME_SCALE", flag: "time-scale",
        summary: "Multiplier of every task duration (0.1: ten times faster)", default: 1,
        readers: servers, constraint: "above 0 and at most 1000", accepts: { $0 > 0 && $0 <= 1_000 })

    public static let corsOrigins = Setting<String>(
        variable: "TASKD_CORS_ORIGINS", flag: "cors-origins", summary: "Allowed CORS origins, comma-separated, or *",
        default: "*", readers: servers)

    public static let maxTasks = Setting<Int>(
        variable: "TASKD_MAX_TASKS", flag: "max-tasks", summary: "Tasks kept per workspace (429 beyond)",
        default: 10_000, in: 1...10_000_000, readers: servers)

    public static let maxWorkspaces = Setting<Int>(
        variable: "TASKD_MAX_WORKSPACES", flag: "max-workspaces", summary: "Workspaces per tenant (429 beyond)",
        default: 1_000, in: 1...10_000_000, readers: servers)

    public static let openMode = Setting<Bool>(
        variable: "TASKD_OPEN_MODE", flag: "open-mode",
        summary: "Accept any non-empty key as its own tenant, true or false (sandboxes only)", default: false,
        readers: servers)

    // In open mode a new key is a new tenant: these bound what keys nobody issued can make. 1,000 sandbox users with
    // up to 10 workspaces each; at the default 10,000 tasks a workspace, 10,000 workspaces is at most ~25 GB of
    // journals and checkpoints (about 250 bytes a task), a size a sandbox host can hold.
    public static let openMaxTenants = Setting<Int>(
        variable: "TASKD_OPEN_MAX_TENANTS", flag: "open-max-tenants",
        summary: "Open mode: tenants (keys that have written) the state directory may hold (429 beyond)",
        default: 1_000, in: 1...10_000_000, readers: servers)

    public static let openMaxWorkspaces = Setting<Int>(
        variable: "TASKD_OPEN_MAX_WORKSPACES", flag: "open-max-workspaces",
        summary: "Open mode: workspaces the state directory may hold over all tenants (429 beyond)",
        default: 10_000, in: 1...100_000_000, readers: servers)

    public static let logLevel = Setting<String>(
        variable: "TASKD_LOG_LEVEL", flag: "log-level",
        summary: "trace, debug, info, notice, warning, error or critical; logs go to stderr", default: "info",
        readers: servers, constraint: "one of trace, debug, info, notice, warning, error, critical",
        accepts: { Logger.Level(rawValue: $0) != nil })

    // MARK: The store (taskd-fcgi writes; taskd-ws and taskctl read, and taskctl compacts)

    // Measured (docs/state-directory.md, "What it costs"): a checkpoint of 10,000 tasks takes ~30 ms and a journal
    // line ~250 bytes, so at 1 MiB the checkpoint costs each change ~8 µs on average, and a cold read replays at most
    // ~4,000 lines (~10 ms) on top of the checkpoint's ~20 ms.
    public static let checkpointBytes = Setting<Int>(
        variable: "TASKD_CHECKPOINT_BYTES", flag: "checkpoint-bytes",
        summary: "Journal size in bytes past which the next change writes a checkpoint",
        default: Int(StoreOptions.defaultCheckpointBytes), in: 4_096...1 << 30, readers: everyBinary)

    public static let lockWait = Setting<Int>(
        variable: "TASKD_LOCK_WAIT_MS", flag: "lock-wait-ms",
        summary: "Milliseconds a change may wait for its workspace before a 503 with Retry-After",
        default: StoreOptions.defaultLockWaitMilliseconds, in: 1...600_000, readers: everyBinary)

    // 12 by default: a burst of creates on one workspace then never holds the last 4 of 16 threads; 8 refused so many
    // creates of a burst (each refusal a full round trip on the same 2 cores) that the burst's own throughput fell by
    // a third (BENCHMARKS.md, store). taskd-fcgi also bounds the changes under way over all workspaces to half its
    // threads (8 of the default 16), so that several busy workspaces together cannot hold the rest either; a value
    // above that half changes nothing there.
    public static let maxWaitingWriters = Setting<Int>(
        variable: "TASKD_MAX_WAITING_WRITERS", flag: "max-waiting-writers",
        summary: "Changes one process lets wait for one workspace; one more gets a 503 at once",
        default: StoreOptions.defaultMaxWritersPerWorkspace, in: 1...100_000, readers: everyBinary)

    // MARK: taskd-fcgi

    public static let fastCGISocket = Setting<String>(
        variable: "TASKD_FCGI_SOCKET", flag: "socket",
        summary: "Unix socket to create and listen on, unless systemd or a spawner hands one over",
        default: "/run/taskd/fcgi.sock", readers: [.fastCGI], constraint: "a path of 1 to 107 bytes",
        accepts: { (1...107).contains($0.utf8.count) })

    public static let fastCGISocketMode = Setting<String>(
        variable: "TASKD_FCGI_SOCKET_MODE", flag: "socket-mode", summary: "Octal permissions of the created socket",
        default: "0660", readers: [.fastCGI], constraint: "octal permissions such as 0660",
        accepts: { UInt32($0, radix: 8).map { $0 <= 0o777 } ?? false })

    // Without `fastcgi_keep_conn`, a worker is only ever busy while a request is in flight: nginx opens a unix-socket
    // connection per request and libfcgi closes it after the answer, so no idle connection pins a thread (a known
    // trap: with keep-alive, 2 to 16 threads served 400 to 3,100 requests/s where the same threads without it served
    // 12,000 to 16,000). Creates wait for fsyncs while holding their workspace's lock, so threads
    // mostly wait on the disk, not the CPU: measured on 2 cores, GET peaked at 4 to 8 threads and POST across
    // workspaces stopped gaining at 8. 16 keeps reads flowing while several creates queue on one workspace's lock, for
    // the cost of 16 idle stacks. Figures in BENCHMARKS.md (REST).
    public static let fastCGIThreads = Setting<Int>(
        variable: "TASKD_FCGI_THREADS", flag: "threads", summary: "Threads serving requests", default: 16,
        in: 1...1_024, readers: [.fastCGI])

    // nginx sends a whole request as soon as it has connected (it buffers client bodies first) and reads answers as
    // they come, so on a local socket either step takes microseconds; 3 s of silence means a broken or hostile peer.
    // A worker such a peer holds is back after at most this long, and a stop (twice this plus 1 s) stays within
    // systemd's TimeoutStopSec=10s.
    public static let fastCGIConnectionDeadline = Setting<Double>(
        variable: "TASKD_FCGI_CONNECTION_DEADLINE", flag: "connection-deadline",
        summary: "Seconds a FastCGI connection may take to send its request, and again to take its answer",
        default: 3, in: 0.05...60, unit: "seconds", readers: [.fastCGI])

    // MARK: taskd-ws

    public static let maxWebSocketConnections = Setting<Int>(
        variable: "TASKD_MAX_WS_CONNECTIONS", flag: "max-ws-connections",
        summary: "WebSocket connections per tenant (429 beyond)", default: 100, in: 1...10_000_000,
        readers: [.webSocket])

    // In open mode every new key is a new tenant, so the per-tenant limit bounds nothing: this one counts every
    // connection. 1,000 idle connections cost taskd-ws about 6.5 MiB (docs/deploying.md, "Memory").
    public static let openMaxWebSocketConnections = Setting<Int>(
        variable: "TASKD_OPEN_MAX_WS_CONNECTIONS", flag: "open-max-ws-connections",
        summary: "Open mode: WebSocket connections of all tenants together (429 beyond)", default: 1_000,
        in: 1...10_000_000, readers: [.webSocket])

    public static let webSocketListen = Setting<String>(
        variable: "TASKD_WS_LISTEN", flag: "listen", summary: "unix:/path or HOST:PORT to listen on",
        default: "unix:/run/taskd/ws.sock", readers: [.webSocket])

    public static let webSocketSocketMode = Setting<String>(
        variable: "TASKD_WS_SOCKET_MODE", flag: "socket-mode",
        summary: "Octal permissions of the unix socket (its group is its directory's)", default: "0660",
        readers: [.webSocket], constraint: "octal permissions such as 0660",
        accepts: { UInt32($0, radix: 8).map { $0 <= 0o777 } ?? false })

    public static let webSocketPingInterval = Setting<Double>(
        variable: "TASKD_WS_PING_INTERVAL", flag: "ping-interval",
        summary: "Seconds without a frame from a client before it is pinged", default: 30, in: 0.1...3_600,
        unit: "seconds", readers: [.webSocket])

    // MARK: taskctl

    public static let shard = Setting<Int>(
        variable: "TASKD_SHARD", flag: "shard",
        summary: "This host's shard number, which taskctl key add writes into new keys for the front to route by",
        default: KeyFormat.defaultShard, in: KeyFormat.shards, readers: [.taskctl])

    /// Every declaration, in the order the README's table lists them.
    public static let all: [any SettingDeclaration] = [
        stateDirectory, keysFile, slots, timeScale, corsOrigins, maxTasks, maxWorkspaces, maxWebSocketConnections,
        openMode, openMaxTenants, openMaxWorkspaces, openMaxWebSocketConnections, checkpointBytes, lockWait,
        maxWaitingWriters, logLevel, fastCGISocket, fastCGISocketMode, fastCGIThreads, fastCGIConnectionDeadline,
        webSocketListen, webSocketSocketMode, webSocketPingInterval, shard,
    ]
}
