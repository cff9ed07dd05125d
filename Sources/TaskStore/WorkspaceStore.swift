import Glibc
import Logging
import TaskCore

/// The file-locked JSON store: one document per workspace, replaced atomically under the workspace's lock, and a
/// change log that followers tail.
///
/// Layout under `directory` (see docs/state-directory.md):
/// `workspaces/<enc(tenant)>/<enc(workspace)>/state.json` and `lock`, `workspaces/<enc(tenant)>/.lock`,
/// `changes.log`, `changes.log.1`, `changes.lock`.
public final class WorkspaceStore: Sendable {
    /// Default size past which the change log is rotated.
    public static let defaultChangeLogLimit: Int64 = 4 << 20

    public let directory: String
    public let maxWorkspacesPerTenant: Int
    private let workspacesDirectory: String
    private let changeLog: ChangeLogWriter
    private let logger: Logger

    /// Opens (creating if needed) a state directory. `readOnly` opens an existing one for reading only (the
    /// WebSocket sidecar): nothing is created or opened for writing until a write is attempted, which then fails.
    public init(
        directory: String, maxWorkspacesPerTenant: Int, logger: Logger,
        changeLogLimit: Int64 = WorkspaceStore.defaultChangeLogLimit, readOnly: Bool = false
    ) throws(StoreError) {
        self.directory = directory
        self.maxWorkspacesPerTenant = maxWorkspacesPerTenant
        self.workspacesDirectory = directory + "/workspaces"
        self.changeLog = ChangeLogWriter(directory: directory, limit: changeLogLimit)
        self.logger = logger
        if readOnly {
            guard Self.isExistingDirectory(directory) else {
                throw .io(operation: "open", path: directory, errno: ENOENT)
            }
            return
        }
        do {
            try Syscall.makeDirectories(workspacesDirectory)
            try changeLog.prepare()
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

    /// Where a workspace's document lives (for tools and tests).
    public func documentPath(_ key: WorkspaceKey) -> String {
        workspaceDirectory(key) + "/state.json"
    }

    // MARK: Reading

    /// The workspace's document; `.empty` when the workspace was never written. Never takes the lock (documents are
    /// replaced atomically, so a reader never sees half a file).
    public func read(_ key: WorkspaceKey) throws(StoreError) -> WorkspaceState {
        try readDocument(at: documentPath(key))
    }

    private func readDocument(at path: String) throws(StoreError) -> WorkspaceState {
        guard let bytes = try AtomicFile.read(path) else { return .empty }
        do {
            return try WireFormat.decodeWorkspaceDocument(bytes)
        } catch {
            throw .corrupt(path: path, detail: bytes.isEmpty ? "the file is empty" : String(error.message.prefix(300)))
        }
    }

    // MARK: Writing

    /// Read-modify-write under the workspace's exclusive flock. `body` gets the current state; when it returns a
    /// change, the new state is written (temp file, fsync, rename, fsync dir) and then a ChangeRecord is appended to
    /// the change log, all before the lock is released. When change is nil nothing is written.
    /// Errors thrown by body propagate unchanged (TaskError etc.); nothing is written then.
    ///
    /// For a workspace that does not exist yet, `body` first runs on `.empty` without any lock; only when it returns
    /// a change is the workspace created (counted against the tenant's limit) and `body` run again under the lock.
    /// So `body` may run twice and must not have effects outside the state it is given.
    ///
    /// The record's sequence is the state's `sequence` after `body`; `TaskStateMachine.apply` advances it.
    public func update<Result>(
        _ key: WorkspaceKey, _ body: (inout WorkspaceState) throws -> StoreUpdate<Result>
    ) throws -> Result {
        let directory = workspaceDirectory(key)
        if try Syscall.status(directory) == nil {
            var scratch = WorkspaceState.empty
            let outcome = try body(&scratch)
            guard outcome.change != nil else { return outcome.result }
            try createWorkspaceDirectory(key, at: directory)
        }
        let lock = try FileLock(path: directory + "/lock")
        defer { lock.unlock() }
        let path = directory + "/state.json"
        var state = try readDocument(at: path)
        let committed = state.sequence
        let outcome = try body(&state)
        guard let change = outcome.change else { return outcome.result }
        // `TaskStateMachine.apply` advances `seq`; a body that forgot would make followers skip this change as one
        // they already hold, so the store guarantees one step per committed change.
        if state.sequence <= committed { state.sequence = committed + 1 }
        let bytes = WireFormat.workspaceDocument(state)
        try AtomicFile.replace(bytes, at: path, temporary: directory + "/state.json.tmp")
        // From here on readers see the new document, so followers must hear of it whatever happens next.
        var durability: StoreError?
        do {
            try Syscall.fsyncDirectory(directory)
        } catch {
            durability = error
        }
        do {
            // Not fsynced: the document is the durable truth; the log only tells followers what to re-read.
            try changeLog.append(ChangeRecord(sequence: state.sequence, key: key, change: change))
        } catch {
            // The change is committed; failing the request now would make the client retry a change that happened.
            // Followers notice the missing record as a sequence gap on the next one.
            logger.error(
                "Change committed but not logged",
                metadata: ["store.workspace": "\(key)", "store.seq": "\(state.sequence)", "error": "\(error)"])
        }
        // The rename may not survive a crash: the caller must not promise durability.
        if let durability { throw durability }
        return outcome.result
    }

    /// Creates a workspace's directory, unless the tenant already has `maxWorkspacesPerTenant` (counted under the
    /// tenant's lock, so concurrent creators cannot overshoot).
    private func createWorkspaceDirectory(_ key: WorkspaceKey, at directory: String) throws(StoreError) {
        let tenantDirectory = tenantDirectory(key.tenant)
        try Syscall.makeDirectories(tenantDirectory)
        let lock = try FileLock(path: tenantDirectory + "/.lock")
        defer { lock.unlock() }
        if try Syscall.status(directory) != nil { return }
        let count = try (Syscall.directoryEntries(tenantDirectory) ?? []).count { !$0.hasPrefix(".") }
        guard count < maxWorkspacesPerTenant else {
            throw .workspaceLimitReached(limit: maxWorkspacesPerTenant)
        }
        if try Syscall.makeDirectory(directory) {
            try Syscall.fsyncDirectory(tenantDirectory)
            logger.debug("Workspace created", metadata: ["store.workspace": "\(key)"])
        }
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
        try changeLog.rotateNow()
    }
}
