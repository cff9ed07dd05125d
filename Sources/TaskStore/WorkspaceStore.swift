import Glibc
import Logging
import TaskCore

/// The file-locked JSON store: per workspace a checkpoint and an append-only journal, changes committed in groups,
/// a per-process cache of decoded workspaces, and a change log that followers tail.
///
/// Layout under `directory` (see docs/state-directory.md): `workspaces/<enc(tenant)>/<enc(workspace)>/` holding
/// `journal.log`, `checkpoint.json` and `lock` (or version 1's `state.json` until the first write converts it),
/// `workspaces/<enc(tenant)>/.lock`, `workspaces/.usage` (open mode), `changes.log`, `changes.log.1`, `changes.lock`.
///
/// The interface stays narrow: read a workspace, run a change on one (`update`), list, and maintenance.
public final class WorkspaceStore: Sendable {
    public let directory: String
    public let maxWorkspacesPerTenant: Int
    public let options: StoreOptions
    /// Opened for reading only (the WebSocket sidecar): it writes nothing, not even a damaged journal's side file.
    let isReadOnly: Bool
    private let workspacesDirectory: String
    let changeLog: ChangeLogWriter
    let cache: WorkspaceCache
    let queues = CommitQueues()
    let uncut = UncutJournals()
    /// Open mode's bounds on tenants and workspaces in all; `nil` without them.
    let usage: WorkspaceUsage?
    let logger: Logger

    /// Opens (creating if needed) a state directory. `readOnly` opens an existing one for reading only (the
    /// WebSocket sidecar): nothing is created or opened for writing until a write is attempted, which then fails.
    public init(
        directory: String, maxWorkspacesPerTenant: Int, logger: Logger, options: StoreOptions = StoreOptions(),
        readOnly: Bool = false
    ) throws(StoreError) {
        self.directory = directory
        self.maxWorkspacesPerTenant = maxWorkspacesPerTenant
        self.options = options
        self.isReadOnly = readOnly
        self.workspacesDirectory = directory + "/workspaces"
        self.changeLog = ChangeLogWriter(directory: directory, limit: options.changeLogLimit)
        self.cache = WorkspaceCache(taskLimit: options.cacheTaskLimit)
        self.usage = WorkspaceUsage(workspacesDirectory: directory + "/workspaces", options: options)
        self.logger = logger
        if readOnly {
            guard Self.isExistingDirectory(directory) else {
                throw .io(operation: "open", path: directory, errno: ENOENT)
            }
            return
        }
        do {
            try Syscall.makeDirectories(workspacesDirectory)
            try changeLog.prepare(deadline: .after(options.lockWait))
        } catch {
            // A read-only or full disk must not stop reads: writes fail (503) until it recovers.
            guard error.isUnavailable, Self.isExistingDirectory(directory) else { throw error }
            logger.warning("The state directory cannot be written", metadata: ["error": "\(error)"])
        }
    }

    private static func isExistingDirectory(_ path: String) -> Bool {
        guard let status = try? Syscall.status(path) else { return false }
        return status.isDirectory
    }

    // MARK: Paths

    func tenantDirectory(_ tenant: TenantID) -> String {
        workspacesDirectory + "/" + PathEncoding.encode(tenant.rawValue)
    }

    func workspaceDirectory(_ key: WorkspaceKey) -> String {
        tenantDirectory(key.tenant) + "/" + PathEncoding.encode(key.workspace.rawValue)
    }

    func files(_ key: WorkspaceKey) -> WorkspaceFiles {
        WorkspaceFiles(directory: workspaceDirectory(key))
    }

    /// Where a workspace's journal, checkpoint and version 1 document live (for tools and tests).
    public func journalPath(_ key: WorkspaceKey) -> String { files(key).journal }
    public func checkpointPath(_ key: WorkspaceKey) -> String { files(key).checkpoint }
    public func legacyDocumentPath(_ key: WorkspaceKey) -> String { files(key).legacy }

    // MARK: Reading

    /// The workspace as last committed; `.empty` when it was never written. Never takes the lock, and costs one
    /// `stat` when the cached copy is still current.
    public func read(_ key: WorkspaceKey) throws(StoreError) -> WorkspaceState {
        try snapshot(key).state
    }

    /// The current snapshot, through the cache. While the lines of a failed batch could not be cut off the journal,
    /// retries the cut first and throws `rollbackPending` if it still fails (see UncutJournals.swift).
    func snapshot(_ key: WorkspaceKey) throws(StoreError) -> WorkspaceSnapshot {
        try settleCut(key)
        let cached = cache.snapshot(key)
        let reader = WorkspaceReader(files: files(key), keepingDamageWith: isReadOnly ? nil : logger)
        let current = try reader.read(cached: cached)
        if !current.isSameRead(as: cached) { cache.store(current, for: key) }
        return current
    }

    // MARK: Writing

    /// Runs `body` on the workspace's current state and commits the change it reports. `body` gets the current
    /// state; when it returns a change, the state it leaves is committed: journaled and fdatasynced, in a batch with
    /// other changes of this process to the same workspace, and then announced in the change log, before this
    /// returns. When the change is nil nothing is written. Errors thrown by body propagate unchanged (TaskError
    /// etc.); nothing is written then.
    ///
    /// For a workspace that does not exist yet, `body` first runs on `.empty` without any lock; only when it returns
    /// a change is the workspace created (counted against the tenant's limit) and `body` run again under the lock.
    /// So `body` may run twice and must not have effects outside the state it is given. It may run on another
    /// thread than the caller's (the batch's leader).
    ///
    /// Each committed change advances `sequence` by exactly one (the store sets it). Every wait of the change (for the
    /// tenant's or the workspace's lock, its turn behind other changes) ends at one deadline, `StoreOptions.lockWait`
    /// from the call (`StoreError.lockTimeout`); beyond `maxWritersPerWorkspace` changes waiting for the workspace, or
    /// `maxWritersInProcess` under way in the process, the change is refused at once (`.tooManyWriters`,
    /// `.processBusy`).
    public func update<Result>(
        _ key: WorkspaceKey, _ body: (inout WorkspaceState) throws -> StoreUpdate<Result>
    ) throws -> Result {
        try queues.admitWriter(limit: options.maxWritersInProcess)
        defer { queues.dismissWriter() }
        let deadline = Deadline.after(options.lockWait)
        let directory = workspaceDirectory(key)
        if try Syscall.status(directory) == nil {
            var scratch = WorkspaceState.empty
            let outcome = try body(&scratch)
            guard outcome.change != nil else { return outcome.result }
            try createWorkspaceDirectory(key, at: directory, deadline: deadline)
        }
        return try withoutActuallyEscaping(body) { escapable in
            var result: Result?
            let change = PendingChange(deadline: deadline) { state in
                let outcome = try escapable(&state)
                result = outcome.result
                return outcome.change
            }
            try commit(change, to: key)
            if let failure = change.failure { throw failure }
            // `commit` returns only once the body ran (or the change failed, handled above).
            guard let result else { throw StoreError.encodingFailed(detail: "a change finished without running") }
            return result
        }
    }

    /// Creates a workspace's directory, unless the tenant already has `maxWorkspacesPerTenant` (counted under the
    /// tenant's lock, so concurrent creators cannot overshoot) or, in open mode, the state directory holds as many
    /// tenants or workspaces as it may (`usage`).
    private func createWorkspaceDirectory(_ key: WorkspaceKey, at directory: String, deadline: Deadline)
        throws(StoreError)
    {
        let tenantDirectory = tenantDirectory(key.tenant)
        guard let usage else {
            _ = try makeWorkspaceDirectory(key, at: directory, in: tenantDirectory, deadline: deadline)
            return
        }
        try usage.admit(tenantDirectory: tenantDirectory, workspaceDirectory: directory, deadline: deadline) {
            () throws(StoreError) -> Bool in
            try makeWorkspaceDirectory(key, at: directory, in: tenantDirectory, deadline: deadline)
        }
    }

    /// Makes the workspace's directory (and its tenant's) under the tenant's lock; returns whether it made it.
    private func makeWorkspaceDirectory(
        _ key: WorkspaceKey, at directory: String, in tenantDirectory: String, deadline: Deadline
    ) throws(StoreError) -> Bool {
        try Syscall.makeDirectories(tenantDirectory)
        let lock = try FileLock(path: tenantDirectory + "/.lock", deadline: deadline)
        defer { lock.unlock() }
        if try Syscall.status(directory) != nil { return false }
        // A frozen tenant gets no new workspace (its commits would be refused anyway: this only spares the directory).
        try refuseIfFrozen(key.tenant)
        let count = try (Syscall.directoryEntries(tenantDirectory) ?? []).count { !$0.hasPrefix(".") }
        guard count < maxWorkspacesPerTenant else {
            throw .workspaceLimitReached(limit: maxWorkspacesPerTenant)
        }
        guard try Syscall.makeDirectory(directory) else { return false }
        try Syscall.fsyncDirectory(tenantDirectory)
        logger.debug("Workspace created", metadata: ["store.workspace": "\(key)"])
        return true
    }

    // MARK: Listing and maintenance

    /// Every tenant that has at least one workspace directory, sorted.
    public func tenants() throws(StoreError) -> [TenantID] {
        try (Syscall.directoryEntries(workspacesDirectory) ?? []).compactMap { component in
            guard !component.hasPrefix("."), let name = PathEncoding.decode(component) else { return nil }
            return try? TenantID(parsing: name)
        }.sorted()
    }

    /// A tenant's workspaces, sorted by id.
    public func workspaces(of tenant: TenantID) throws(StoreError) -> [WorkspaceID] {
        let tenantDirectory = tenantDirectory(tenant)
        var result: [WorkspaceID] = []
        for component in try Syscall.directoryEntries(tenantDirectory) ?? [] where !component.hasPrefix(".") {
            guard let name = PathEncoding.decode(component), let id = try? WorkspaceID(parsing: name),
                try Syscall.status(tenantDirectory + "/" + component)?.isDirectory == true
            else { continue }
            result.append(id)
        }
        return result.sorted { $0.rawValue < $1.rawValue }
    }

    /// Rotates the change log now (`taskctl log compact`): followers read the old file to its end, then move on.
    public func compactLog() throws(StoreError) {
        try changeLog.rotateNow(deadline: .after(options.lockWait))
    }

    /// How many workspaces and tasks this process holds decoded (for tests and benchmarks).
    public var cacheStatistics: (workspaces: Int, tasks: Int) { cache.statistics }
}

extension WorkspaceSnapshot {
    /// Whether this is `other`, returned unchanged by a read that found the files as they were.
    func isSameRead(as other: WorkspaceSnapshot?) -> Bool {
        guard let other else { return false }
        switch (source, other.source) {
        case (.journal(let mine), .journal(let theirs)):
            return mine.identity == theirs.identity && mine.validEnd == theirs.validEnd
        case (.legacy(let mine), .legacy(let theirs)), (.checkpointOnly(let mine), .checkpointOnly(let theirs)):
            return mine == theirs
        case (.nothing, .nothing):
            return true
        default:
            return false
        }
    }
}
