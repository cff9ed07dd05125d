import TaskCore

/// A tenant's export (`WireFormat+TenantExport.swift` has the document): every workspace with its tasks, next id,
/// sequence and chain value, and every key of the tenant (ids, hashes, shards; never a key itself).
///
/// An export is untrusted input: whoever hands one to `taskctl tenant import` must not be able to reach another
/// tenant's data with it. So it is read with every field checked (the workspaces by the checkpoint decoder, the keys
/// by the keys file's rules, hashes compared as bytes), and an import refuses, before writing anything, to take a key
/// or a hash already here for another key, to merge into a tenant that has keys or workspaces here the export does
/// not have, and to write over a workspace whose history is not the exported one.
public struct TenantExport: Sendable {
    public var document: TenantExportDocument
    public var keys: [KeyEntry]

    public var tenant: TenantID { document.tenant }

    /// What an export or import carried, for the operator.
    public struct Summary: Sendable, Equatable, Encodable {
        public var tenant: String
        public var workspaces = 0
        public var tasks = 0
        public var keys = 0
        /// Workspaces an import found already here, exactly as exported (with `--replace`), and left as they were.
        public var unchanged = 0
    }

    /// Writes the export of `tenant` through `output`, one workspace at a time, each read under its lock. Unless
    /// `live`, the tenant must be frozen (`tenantNotFrozen` otherwise), so that the export is final. Refuses a key
    /// this shard refuses (a hash held by two entries), which must be resolved first.
    public static func write(
        tenant: TenantID, store: WorkspaceStore, keysFile: String, live: Bool, exportedAt: Timestamp,
        to output: ([UInt8]) throws -> Void
    ) throws -> Summary {
        let frozen = try store.isFrozen(tenant)
        guard frozen || live else { throw TenantMoveError.notFrozen(tenant) }
        let contents = try KeysFile.load(path: keysFile) ?? KeysFile.Contents()
        if let problem = contents.problems.first { throw KeysFile.flawed(problem, path: keysFile) }
        let keys = contents.entries.filter { $0.tenant == tenant }
        let refused = contents.refusedHashes
        if let duplicated = keys.first(where: { refused.contains($0.sha256) }) {
            throw TenantMoveError.refusedKey(id: duplicated.id)
        }
        let workspaces = try store.workspaces(of: tenant)
        guard !keys.isEmpty || !workspaces.isEmpty else { throw TenantMoveError.notFound(tenant) }
        let keysJSON: [UInt8]
        do {
            keysJSON = try WireFormat.encode(keys)
        } catch {
            throw StoreError.encodingFailed(detail: "\(error)")
        }
        var summary = Summary(tenant: tenant.rawValue, keys: keys.count)
        try output(
            WireFormat.tenantExportOpening(tenant: tenant, exportedAt: exportedAt, frozen: frozen, keys: keysJSON))
        for (index, id) in workspaces.enumerated() {
            let (state, chain) = try store.exportWorkspace(WorkspaceKey(tenant: tenant, workspace: id))
            try output(
                WireFormat.tenantExportWorkspace(.init(id: id, state: state, chain: chain), first: index == 0))
            summary.workspaces += 1
            summary.tasks += state.tasks.count
        }
        try output(WireFormat.tenantExportClosing)
        return summary
    }

    /// Reads an export; `path` names it in errors, which also name the field at fault (`keys[1].sha256: …`). Every
    /// key must keep the keys file's rules, belong to the export's tenant, and have an id and a hash of its own.
    public static func read(_ bytes: [UInt8], path: String) throws(StoreError) -> TenantExport {
        let document: TenantExportDocument
        let stored: [KeyEntry.Stored]
        do {
            document = try WireFormat.decodeTenantExport(bytes)
        } catch {
            throw .corrupt(path: path, detail: String(error.message.prefix(300)))
        }
        do {
            stored = try WireFormat.decode([KeyEntry.Stored].self, from: document.keys)
        } catch {
            throw .corrupt(path: path, detail: "keys: not an array of key entries")
        }
        var keys: [KeyEntry] = []
        for (index, entry) in stored.enumerated() {
            let field = "keys[\(index)]"
            switch KeyEntry.validated(entry) {
            case .failure(let flaw):
                throw .corrupt(
                    path: path, detail: "\(field)\(flaw.field.isEmpty ? "" : ".")\(flaw.field): \(flaw.message)")
            case .success(let key):
                if key.tenant != document.tenant {
                    throw .corrupt(
                        path: path,
                        detail: "\(field).tenant: '\(key.tenant)' is not the export's tenant, \(document.tenant)")
                }
                if let other = keys.firstIndex(where: { $0.id == key.id }) {
                    throw .corrupt(path: path, detail: "\(field).id: \(key.id) is also keys[\(other)]'s")
                }
                if let other = keys.firstIndex(where: { $0.sha256 == key.sha256 }) {
                    throw .corrupt(path: path, detail: "\(field).sha256: the same hash as keys[\(other)]'s")
                }
                keys.append(key)
            }
        }
        return TenantExport(document: document, keys: keys)
    }

    /// Writes the export into `store` and `keysFile`, as the tenant `name` (the export's own by default). All of it
    /// happens under the keys file's lock, so no key can be issued or imported meanwhile: first every check (keys,
    /// the tenant here, each workspace; nothing is written when one fails), then the freeze (when the export was
    /// taken frozen), every workspace, and the keys last, so that nothing can write to the tenant here before it is
    /// complete. `replacing` accepts workspaces already here exactly as exported (a second attempt at the same
    /// import); a workspace whose sequence or chain is not the exported one is never written over.
    public func restore(
        into store: WorkspaceStore, keysFile: String, replacing: Bool, as name: TenantID? = nil,
        lockWait: Duration = KeysFile.defaultLockWait
    ) throws -> Summary {
        let tenant = name ?? self.tenant
        if KeyRing.isOpenModeName(tenant), !keys.isEmpty { throw TenantMoveError.reservedName(tenant) }
        let keys = self.keys.map { $0.belonging(to: tenant) }
        let lock = try KeysFile.lock(path: keysFile, lockWait: lockWait)
        defer { lock.unlock() }
        var existing = try KeysFile.read(path: keysFile)

        let addition = KeysFile.addition(of: keys, to: existing.keys)
        if let clash = addition.conflicting.first { throw TenantMoveError.keyConflict(id: clash.id) }
        let exportedIDs = Set(document.workspaces.map(\.id))
        let foreignKeys = existing.keys.filter { $0.tenant == tenant && !keys.contains($0) }
        let foreignWorkspaces = try store.workspaces(of: tenant).filter { !exportedIDs.contains($0) }
        guard foreignKeys.isEmpty, foreignWorkspaces.isEmpty else {
            throw TenantMoveError.tenantExists(tenant, keyIDs: foreignKeys.map(\.id), workspaces: foreignWorkspaces)
        }
        var unchanged = Set<WorkspaceID>()
        for workspace in document.workspaces {
            let key = WorkspaceKey(tenant: tenant, workspace: workspace.id)
            let current = try store.exportWorkspace(key)
            let writes = try WorkspaceStore.mayImport(
                key, over: current.state, chain: current.chain, exported: workspace.state,
                exportedChain: workspace.chain, replacing: replacing)
            if !writes { unchanged.insert(workspace.id) }
        }

        if document.frozen { try store.freeze(tenant) }
        var summary = Summary(tenant: tenant.rawValue, unchanged: unchanged.count)
        for workspace in document.workspaces {
            if !unchanged.contains(workspace.id) {
                // Checked again under the workspace's lock: a write since the checks above is not undone either.
                try store.importWorkspace(
                    WorkspaceKey(tenant: tenant, workspace: workspace.id), state: workspace.state,
                    chain: workspace.chain, replacing: replacing)
            }
            summary.workspaces += 1
            summary.tasks += workspace.state.tasks.count
        }
        existing.keys += addition.added
        try KeysFile.write(existing, path: keysFile)
        summary.keys = keys.count
        return summary
    }
}
