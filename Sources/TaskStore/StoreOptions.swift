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
    public static let defaultCacheTaskLimit = 200_000
    public static let defaultChangeLogLimit: Int64 = 4 << 20

    public init(
        checkpointBytes: Int64 = StoreOptions.defaultCheckpointBytes,
        lockWait: Duration = StoreOptions.defaultLockWait,
        maxWritersPerWorkspace: Int = StoreOptions.defaultMaxWritersPerWorkspace,
        cacheTaskLimit: Int = StoreOptions.defaultCacheTaskLimit,
        changeLogLimit: Int64 = StoreOptions.defaultChangeLogLimit,
        faultHook: (@Sendable (FaultPoint) -> FaultAction)? = nil
    ) {
        self.checkpointBytes = checkpointBytes
        self.lockWait = lockWait
        self.maxWritersPerWorkspace = maxWritersPerWorkspace
        self.cacheTaskLimit = cacheTaskLimit
        self.changeLogLimit = changeLogLimit
        self.faultHook = faultHook
    }
}
