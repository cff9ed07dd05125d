/// How the store trades durability work, waiting and memory; every server and `taskctl` resolves these from the
/// `TASKD_*` settings (see `ServiceSettings`), tests set them directly.
public struct StoreOptions: Sendable {
    /// A journal longer than this (bytes) is folded into a new checkpoint by the writer that crosses it.
    public var checkpointBytes: Int64
    /// How long a change may wait for its workspace (the lock, or its turn behind other changes) before it is
    /// refused with `StoreError.lockTimeout`.
    public var lockWait: Duration
    /// How many changes of one process may wait for one workspace at once; one more is refused at once with
    /// `StoreError.tooManyWriters`, so that a burst on one workspace cannot hold every request thread.
    public var maxWritersPerWorkspace: Int
    /// How many changes of one process may wait at once over all its workspaces; one more is refused at once with
    /// `StoreError.processBusy`, so that several busy workspaces together cannot hold every request thread either.
    /// The responder sets half its threads (`FastCGIConfiguration`); `nil` (tools, tests) bounds nothing more.
    public var maxWritersInProcess: Int?
    /// How long a committed batch's writer waits for `changes.lock` (held exclusively only while the log rotates,
    /// which takes microseconds) before it gives up announcing the batch; followers then find the change by
    /// comparing sequences (`ChangeLogFollower.verify`). The batch stays committed and is answered as such.
    public var changeLogWait: Duration
    /// Open mode: the most tenants the state directory may hold (a new key is a new tenant); `nil`: no bound.
    public var maxTenants: Int?
    /// Open mode: the most workspaces the state directory may hold over all tenants; `nil`: no bound.
    public var maxWorkspacesInAll: Int?
    /// How many tasks, summed over workspaces, the read cache keeps decoded.
    public var cacheTaskLimit: Int
    /// Change-log size past which the log is rotated.
    public var changeLogLimit: Int64
    /// Test builds only: called at each `FaultPoint` of a write (see `FaultPoint`). `nil` in every server.
    public var faultHook: (@Sendable (FaultPoint) -> FaultAction)?

    public static let defaultCheckpointBytes: Int64 = 1 << 20
    public static let defaultLockWaitMilliseconds = 5_000
    public static let defaultLockWait: Duration = .milliseconds(defaultLockWaitMilliseconds)
    public static let defaultMaxWritersPerWorkspace = 12
    public static let defaultChangeLogWait: Duration = .milliseconds(500)
    public static let defaultCacheTaskLimit = 200_000
    public static let defaultChangeLogLimit: Int64 = 4 << 20

    public init(
        checkpointBytes: Int64 = StoreOptions.defaultCheckpointBytes,
        lockWait: Duration = StoreOptions.defaultLockWait,
        maxWritersPerWorkspace: Int = StoreOptions.defaultMaxWritersPerWorkspace,
        maxWritersInProcess: Int? = nil,
        changeLogWait: Duration = StoreOptions.defaultChangeLogWait,
        maxTenants: Int? = nil,
        maxWorkspacesInAll: Int? = nil,
        cacheTaskLimit: Int = StoreOptions.defaultCacheTaskLimit,
        changeLogLimit: Int64 = StoreOptions.defaultChangeLogLimit,
        faultHook: (@Sendable (FaultPoint) -> FaultAction)? = nil
    ) {
        self.checkpointBytes = checkpointBytes
        self.lockWait = lockWait
        self.maxWritersPerWorkspace = maxWritersPerWorkspace
        self.maxWritersInProcess = maxWritersInProcess
        self.changeLogWait = changeLogWait
        self.maxTenants = maxTenants
        self.maxWorkspacesInAll = maxWorkspacesInAll
        self.cacheTaskLimit = cacheTaskLimit
        self.changeLogLimit = changeLogLimit
        self.faultHook = faultHook
    }
}
