import TaskCore

/// A tenant's freeze, export and import: the store's part of moving a tenant between shards (docs/scaling.md).
///
/// The freeze is a flag file, `workspaces/<tenant>/.frozen`. Every commit looks for it under the workspace's lock,
/// after taking the lock and before reading the state it changes (`lead` in WorkspaceStore+Commit.swift). So once
/// `freeze` has returned, a change either held the lock before (and is committed before any later holder of the lock
/// reads the workspace) or is refused with `tenantFrozen`; and `exportWorkspace`, which reads under the same lock,
/// sees every change that will ever be committed until `unfreeze`.
extension WorkspaceStore {
    func frozenFlag(_ tenant: TenantID) -> String { tenantDirectory(tenant) + "/.frozen" }

    /// Whether the tenant's writes are refused.
    public func isFrozen(_ tenant: TenantID) throws(StoreError) -> Bool {
        try Syscall.status(frozenFlag(tenant)) != nil
    }

    /// Refuses the tenant's writes from now on (durably); reads go on. Freezing a frozen tenant changes nothing.
    public func freeze(_ tenant: TenantID) throws(StoreError) {
        let directory = tenantDirectory(tenant)
        try Syscall.makeDirectories(directory)
        let flag = frozenFlag(tenant)
        guard try Syscall.status(flag) == nil else { return }
        try AtomicFile.write(
            Array("frozen: writes are refused until `taskctl tenant unfreeze`\n".utf8), to: flag,
            temporary: flag + ".tmp")
        logger.info("Tenant frozen", metadata: ["store.tenant": "\(tenant)"])
    }

    /// Accepts the tenant's writes again; returns whether it was frozen.
    @discardableResult
    public func unfreeze(_ tenant: TenantID) throws(StoreError) -> Bool {
        let flag = frozenFlag(tenant)
        guard try Syscall.status(flag) != nil else { return false }
        Syscall.unlinkIfExists(flag)
        try Syscall.fsyncDirectory(tenantDirectory(tenant))
        logger.info("Tenant unfrozen", metadata: ["store.tenant": "\(tenant)"])
        return true
    }

    /// Throws `tenantFrozen` when the tenant is frozen. Writers call it holding the workspace's lock.
    func refuseIfFrozen(_ tenant: TenantID) throws(StoreError) {
        if try isFrozen(tenant) { throw .tenantFrozen(tenant: tenant) }
    }

    /// The workspace as committed, read under its lock (so a change under way finishes first), with its chain value.
    public func exportWorkspace(_ key: WorkspaceKey) throws(StoreError) -> (state: WorkspaceState, chain: UInt32) {
        let files = files(key)
        guard try Syscall.status(files.directory) != nil else { return (.empty, 0) }
        let lock = try FileLock(path: files.lock, deadline: .after(options.lockWait))
        defer { lock.unlock() }
        let snapshot = try snapshot(key)
        return (snapshot.state, snapshot.chain)
    }

    /// Writes `state` as the workspace's checkpoint, with a fresh journal continuing it: its tasks, next id and
    /// sequence as they were. Only a workspace that was never written is written over; one that already holds exactly
    /// this state (same sequence and chain) is left as it is when `replacing` (and refused with `workspaceNotEmpty`
    /// otherwise); anything else is refused with `workspaceMoved`, since writing over it would undo its own changes.
    /// Returns whether it wrote. The tenant's limit on workspaces does not apply: the workspaces existed before.
    @discardableResult
    public func importWorkspace(_ key: WorkspaceKey, state: WorkspaceState, chain: UInt32, replacing: Bool) throws
        -> Bool
    {
        let files = files(key)
        if try Syscall.status(files.directory) == nil {
            try Syscall.makeDirectories(files.directory)
            try Syscall.fsyncDirectory(tenantDirectory(key.tenant))
        }
        let lock = try FileLock(path: files.lock, deadline: .after(options.lockWait))
        defer { lock.unlock() }
        let current = try snapshot(key)
        guard
            try Self.mayImport(
                key, over: current.state, chain: current.chain, exported: state, exportedChain: chain,
                replacing: replacing)
        else { return false }
        cache.remove(key)
        var next = WorkspaceSnapshot(state: state, chain: chain, source: .nothing)
        next.source = .journal(try writeCheckpoint(next, files: files))
        cache.store(next, for: key)
        logger.info(
            "Workspace imported",
            metadata: [
                "store.workspace": "\(key)", "store.seq": "\(state.sequence)", "store.tasks": "\(state.tasks.count)",
            ])
        return true
    }

    /// Whether an import writes `exported` over the workspace as it is here (`current`, `chain`): true when it was
    /// never written; false when it already holds the exported state (same sequence and chain) and `replacing`.
    /// Throws `workspaceNotEmpty` for that state without `replacing`, and `workspaceMoved` for any other: a
    /// workspace that took writes since the export (or holds another history) is never rolled back by an import.
    static func mayImport(
        _ key: WorkspaceKey, over current: WorkspaceState, chain: UInt32, exported: WorkspaceState,
        exportedChain: UInt32, replacing: Bool
    ) throws(TenantMoveError) -> Bool {
        if current.sequence == 0 && current.tasks.isEmpty { return true }
        guard current.sequence == exported.sequence, chain == exportedChain else {
            throw .workspaceMoved(key, sequence: current.sequence, exportedSequence: exported.sequence)
        }
        guard replacing else { throw .workspaceNotEmpty(key) }
        return false
    }
}
