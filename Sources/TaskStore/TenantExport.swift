import TaskCore

/// A tenant's export (`WireFormat+TenantExport.swift` has the document): every workspace with its tasks, next id,
/// sequence and chain value, and every key of the tenant (ids, hashes, shards; never a key itself).
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
    }

    /// Writes the export of `tenant` through `output`, one workspace at a time, each read under its lock. Unless
    /// `live`, the tenant must be frozen (`tenantNotFrozen` otherwise), so that the export is final.
    public static func write(
        tenant: TenantID, store: WorkspaceStore, keysFile: String, live: Bool, exportedAt: Timestamp,
        to output: ([UInt8]) throws -> Void
    ) throws -> Summary {
        let frozen = try store.isFrozen(tenant)
        guard frozen || live else { throw TenantMoveError.notFrozen(tenant) }
        let keys = try KeysFile.list(path: keysFile).filter { $0.tenant == tenant }
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

    /// Reads an export; `path` names it in errors. Every key must belong to the export's tenant.
    public static func read(_ bytes: [UInt8], path: String) throws(StoreError) -> TenantExport {
        let document: TenantExportDocument
        let keys: [KeyEntry]
        do {
            document = try WireFormat.decodeTenantExport(bytes)
            keys = try WireFormat.decode([KeyEntry].self, from: document.keys)
        } catch {
            throw .corrupt(path: path, detail: String("\(error)".prefix(300)))
        }
        if let stranger = keys.first(where: { $0.tenant != document.tenant }) {
            throw .corrupt(
                path: path, detail: "key \(stranger.id) belongs to \(stranger.tenant), not \(document.tenant)")
        }
        return TenantExport(document: document, keys: keys)
    }

    /// Writes the export into `store` and `keysFile`: the freeze first (when the export was taken frozen), then every
    /// workspace, then the keys, so that nothing can write to the tenant here before it is complete. Checks first
    /// that no workspace would be written over (unless `replacing`) and that no key clashes, and writes nothing then.
    public func restore(into store: WorkspaceStore, keysFile: String, replacing: Bool) throws -> Summary {
        let existing = try KeysFile.list(path: keysFile)
        for key in keys where !existing.contains(key) {
            if existing.contains(where: { $0.id == key.id || $0.sha256 == key.sha256 }) {
                throw TenantMoveError.keyConflict(id: key.id)
            }
        }
        if !replacing {
            for workspace in document.workspaces {
                let key = WorkspaceKey(tenant: tenant, workspace: workspace.id)
                let current = try store.read(key)
                if current.sequence != 0 || !current.tasks.isEmpty { throw TenantMoveError.workspaceNotEmpty(key) }
            }
        }
        if document.frozen { try store.freeze(tenant) }
        var summary = Summary(tenant: tenant.rawValue)
        for workspace in document.workspaces {
            try store.importWorkspace(
                WorkspaceKey(tenant: tenant, workspace: workspace.id), state: workspace.state, chain: workspace.chain,
                replacing: replacing)
            summary.workspaces += 1
            summary.tasks += workspace.state.tasks.count
        }
        let addition = try KeysFile.add(keys, path: keysFile)
        if let clash = addition.conflicting.first { throw TenantMoveError.keyConflict(id: clash.id) }
        summary.keys = keys.count
        return summary
    }
}
